"""The baseline: Azure's model-1 sample `score.py`, as the Python inference server runs it."""

import json
import os

import joblib
import numpy


def init():
    global model
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "sklearn_regression_model.pkl")
    model = joblib.load(model_path)


def run(raw_data):
    data = json.loads(raw_data)["data"]
    data = numpy.array(data)
    result = model.predict(data)
    return result.tolist()
