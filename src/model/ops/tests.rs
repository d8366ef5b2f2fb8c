use super::*;

/// `(operator, runs in)` rows of the operator table in model/README.md.
fn documented() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/model/README.md")).unwrap();
    let table = readme
        .split("<!-- operators:")
        .nth(1)
        .expect("the operator table is marked");
    table
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[3].to_owned())
        })
        .collect()
}

#[test]
fn operator_table_matches_the_registry() {
    let rows = documented();
    let tract = tract_onnx::onnx();
    for (op, runs_in) in &rows {
        match runs_in.as_str() {
            "aml-scorer" => assert!(OURS.iter().any(|(name, _)| name == op), "{op} is ours"),
            "tract" => assert!(tract.op_register.0.contains_key(op), "tract registers {op}"),
            other => panic!("{op} runs in {other}?"),
        }
    }
    for (name, _) in OURS {
        assert!(rows.iter().any(|(op, _)| op == name), "{name} is in the table");
    }
}

#[test]
fn an_unsupported_operator_names_the_export_option_that_avoids_it() {
    let unsupported = Unsupported {
        op: "DictVectorizer".into(),
        domain: "ai.onnx.ml".into(),
        node: "dv".into(),
        hint: export_option("DictVectorizer"),
    };
    let message = unsupported.to_string();
    assert!(message.starts_with("operator DictVectorizer (domain ai.onnx.ml, node \"dv\") is not supported; export the model after"), "{message}");
    assert_eq!(export_option("StringNormalizer"), None);
}
