"""scripts/render_template.py: what the scanners see is what CloudFormation would deploy for a configuration."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.template import render_template

KEY = {"Fn::If": ["UseKey", {"Ref": "Key"}, {"Ref": "AWS::NoValue"}]}
TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Key": {"Type": "String", "Default": ""},
        "Subnets": {"Type": "CommaDelimitedList", "Default": ""},
        "Days": {"Type": "Number", "Default": 365, "AllowedValues": [30, 365]},
    },
    "Conditions": {
        "UseKey": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Key"}, ""]}]},
        "InVpc": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "Subnets"}]}, ""]}]},
        "Both": {"Fn::And": [{"Condition": "UseKey"}, {"Condition": "InVpc"}]},
        "Either": {"Fn::Or": [{"Condition": "UseKey"}, {"Condition": "InVpc"}]},
    },
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"KmsMasterKeyId": KEY, "Tags": [KEY, {"Key": "a"}]},
        },
        "Key": {"Type": "AWS::KMS::Key", "Condition": "Both", "Properties": {}},
        "Either": {"Type": "AWS::SNS::Topic", "Condition": "Either", "Properties": {}},
    },
    "Outputs": {"KeyArn": {"Condition": "UseKey", "Value": {"Ref": "Key"}}},
}


def _render(**overrides: str) -> dict[str, Any]:
    rendered: dict[str, Any] = render_template.Renderer(
        json.loads(json.dumps(TEMPLATE)), overrides
    ).rendered()
    return rendered


def test_defaults_drop_no_value_and_false_resources() -> None:
    rendered = _render()
    assert rendered["Resources"] == {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": [{"Key": "a"}]}}
    }
    assert rendered["Outputs"] == {}
    assert "Conditions" not in rendered
    assert rendered["Parameters"]["Days"]["Default"] == 365  # an untouched default keeps its type


def test_overrides_take_each_if_branch_and_keep_true_resources() -> None:
    rendered = _render(Key="arn:aws:kms:eu-west-1:123456789012:key/k", Subnets="subnet-1,subnet-2")
    assert rendered["Resources"]["Queue"]["Properties"]["KmsMasterKeyId"] == {"Ref": "Key"}
    assert set(rendered["Resources"]) == {"Queue", "Key", "Either"}
    assert "Condition" not in rendered["Resources"]["Key"]
    assert rendered["Outputs"] == {"KeyArn": {"Value": {"Ref": "Key"}}}
    assert rendered["Parameters"]["Subnets"]["Default"] == "subnet-1,subnet-2"


def test_one_condition_of_two() -> None:
    assert set(_render(Subnets="subnet-1")["Resources"]) == {"Queue", "Either"}


def test_an_unknown_parameter_or_an_unreadable_condition_is_refused() -> None:
    with pytest.raises(render_template.RenderError, match="no such parameter: Nope"):
        _render(Nope="x")
    broken = json.loads(json.dumps(TEMPLATE))
    broken["Conditions"]["UseKey"] = {"Fn::Contains": [["a"], "a"]}
    with pytest.raises(render_template.RenderError, match="cannot evaluate the condition"):
        render_template.Renderer(broken, {}).rendered()
    unknown = json.loads(json.dumps(TEMPLATE))
    unknown["Resources"]["Either"]["Condition"] = "Nowhere"
    with pytest.raises(render_template.RenderError, match="no condition named Nowhere"):
        render_template.Renderer(unknown, {}).rendered()


def test_the_command_line_refuses_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "t.json"
    source.write_text(json.dumps(TEMPLATE))
    assert render_template.main(["render_template.py", str(source), "Nope=1"]) == 2
    assert "render_template: no such parameter: Nope" in capsys.readouterr().err
    assert render_template.main(["render_template.py", str(source), "Key"]) == 2
    assert "give parameters as Name=Value, not Key" in capsys.readouterr().err
    overrides = {"Key": "k"}
    render_template.Renderer(json.loads(json.dumps(TEMPLATE)), overrides).rendered()
    assert overrides == {"Key": "k"}  # the caller's overrides are left as they were
    assert render_template.main(["render_template.py", str(source), "Key=k"]) == 0
    assert json.loads(capsys.readouterr().out)["Resources"]["Queue"]["Properties"]["KmsMasterKeyId"] == {
        "Ref": "Key"
    }


LISTS: dict[str, Any] = {
    "Parameters": {
        "Arns": {"Type": "CommaDelimitedList", "Default": ""},
        "Stage": {"Type": "String", "Default": "dev"},
    },
    "Conditions": {
        "HasArns": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "Arns"}]}, ""]}]},
        "HasSecond": {
            "Fn::Not": [
                {
                    "Fn::Equals": [
                        {
                            "Fn::Select": [
                                1,
                                {
                                    "Fn::Split": [
                                        ",",
                                        {"Fn::Sub": ["${A},,", {"A": {"Fn::Join": [",", {"Ref": "Arns"}]}}]},
                                    ]
                                },
                            ]
                        },
                        "",
                    ]
                }
            ]
        },
    },
    "Resources": {
        "Policy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Condition": "HasArns",
            "Properties": {
                "Resource": {
                    "Fn::Split": [
                        "|",
                        {
                            "Fn::Sub": [
                                "${A}|${B}:*",
                                {
                                    "A": {"Fn::Join": ["|", {"Ref": "Arns"}]},
                                    "B": {"Fn::Join": [":*|", {"Ref": "Arns"}]},
                                },
                            ]
                        },
                    ]
                },
                "Name": {"Fn::Sub": "app-${Stage}-${AWS::Region}"},
                "Second": {
                    "Fn::If": ["HasSecond", {"Fn::Select": [1, {"Ref": "Arns"}]}, {"Ref": "AWS::NoValue"}]
                },
            },
        }
    },
}


def _lists(**overrides: str) -> dict[str, Any]:
    rendered: dict[str, Any] = render_template.Renderer(
        json.loads(json.dumps(LISTS)), overrides, resolve_parameters=True
    ).rendered()
    return rendered


def test_list_parameters_are_resolved_and_conditions_read_positions() -> None:
    assert _lists()["Resources"] == {}  # an empty list: the condition is false, nothing names ""
    one = _lists(Arns="a")["Resources"]["Policy"]["Properties"]
    assert one == {"Resource": ["a", "a:*"], "Name": {"Fn::Sub": "app-dev-${AWS::Region}"}}
    two = _lists(Arns="a,b")["Resources"]["Policy"]["Properties"]
    assert (two["Resource"], two["Second"]) == (["a", "b", "a:*", "b:*"], "b")


def test_a_condition_on_an_unknown_value_or_a_select_out_of_range_is_refused() -> None:
    pseudo = json.loads(json.dumps(LISTS))
    pseudo["Conditions"]["HasArns"] = {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}
    with pytest.raises(render_template.RenderError, match="cannot evaluate"):
        render_template.Renderer(pseudo, {}).rendered()
    out_of_range = json.loads(json.dumps(LISTS))
    out_of_range["Resources"]["Policy"]["Properties"]["Second"] = {"Fn::Select": [5, {"Ref": "Arns"}]}
    with pytest.raises(render_template.RenderError, match="index 5 is outside"):
        render_template.Renderer(out_of_range, {"Arns": "a"}, resolve_parameters=True).rendered()
