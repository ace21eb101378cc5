"""Validates Kubernetes manifests against the API's object models, offline: every field must be one
the API version knows (an unknown or misspelt field fails), of the model's type, with every required
field present (the models' own client-side validation)."""

import re

import kubernetes.client as k8s
from kubernetes.client import ApiClient

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "datetime": str, "date": str}


def model_name(api_version, kind):
    group, _, version = api_version.rpartition("/")
    return "V1" + kind if version == "v1" else version.capitalize() + kind


def check(value, type_name, path, problems):
    if type_name == "object":
        return
    if type_name in PRIMITIVES:
        if not isinstance(value, PRIMITIVES[type_name]) or (type_name == "int" and isinstance(value, bool)):
            problems.append(f"{path}: expected {type_name}, got {value!r}")
        return
    m = re.fullmatch(r"[Ll]ist\[(.+)\]", type_name)
    if m:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            check(item, m.group(1), f"{path}[{i}]", problems)
        return
    m = re.fullmatch(r"dict\(([^,]+), (.+)\)", type_name) or re.fullmatch(r"Dict\[([^,]+), (.+)\]", type_name)
    if m:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map")
            return
        for k, item in value.items():
            check(item, m.group(2), f"{path}.{k}", problems)
        return
    cls = getattr(k8s, type_name)
    if not isinstance(value, dict):
        problems.append(f"{path}: expected a {type_name} object")
        return
    by_json = {v: k for k, v in cls.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            problems.append(f"{path}.{key}: not a field of {type_name}")
            continue
        check(item, cls.openapi_types[by_json[key]], f"{path}.{key}", problems)


def validate(doc):
    """Problems found in one manifest (empty: valid)."""
    name = model_name(doc["apiVersion"], doc["kind"])
    problems = []
    check(doc, name, doc["kind"], problems)
    if not problems:
        try:
            ApiClient()._ApiClient__deserialize(doc, name)
        except (ValueError, TypeError) as e:
            problems.append(f"{doc['kind']}: {e}")
    return problems
