"""The OpenAPI document is generated from the code and covers every API route."""


def test_openapi_document(client, app):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json
    assert doc["openapi"].startswith("3.1")
    api_rules = {(rule.rule, m) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
                 for m in rule.methods - {"HEAD", "OPTIONS"}}
    import re

    documented = {("/api/v1" + re.sub(r"{(\w+)}", r"<\1>", p)[len("/api/v1"):], m.upper())
                  for p, ops in doc["paths"].items() for m in ops}
    missing = {(r, m) for r, m in api_rules if (re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", r), m) not in documented}
    assert not missing, f"routes missing from OpenAPI: {sorted(missing)}"
    dep = doc["paths"]["/api/v1/deployments"]["post"]
    schema = doc["components"]["schemas"][dep["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert "deployment_start" in schema["required"]
    assert "limit" in {p["name"] for p in doc["paths"]["/api/v1/taxa"]["get"]["parameters"]}
    # every $ref resolves
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', r.get_data(as_text=True)))
    assert refs <= set(doc["components"]["schemas"])
