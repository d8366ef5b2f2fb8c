# Sourced by the benches against onnxruntime: sets up the venv of the model tools, onnxruntime
# among them (tests/models/requirements.txt), as $venv.
venv=target/zoo-venv
if [ ! -x "$venv/bin/python" ] || [ tests/models/requirements.txt -nt "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/models/requirements.txt
  touch "$venv/bin/python"
fi
