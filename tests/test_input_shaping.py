"""Target input shaping against EventBridge's documented and AWS-recorded outputs.

Expected outputs are byte-exact where EventBridge's bytes are known (it sends minified JSON),
so a change in spacing, quoting or escaping fails here rather than at a target.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.input_shaping import InputShaper, InvalidInputSpec, ShapingFailed, compile_input

RULE_ARN = "arn:aws:events:us-east-2:123456789012:rule/example"
RULE_NAME = "example"
INGESTION_TIME = "2015-11-11T21:29:55Z"

# The user guide's example EC2 event.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
# The user guide's Input Path for it.
EC2_PATHS = {
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "resource": "$.resources[0]",
}

# An event with one value of every JSON type and awkward text, for the type and escaping tables.
TYPED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "e-1",
    "detail-type": "typed",
    "source": "test",
    "account": "123456789012",
    "time": "2024-01-02T03:04:05Z",
    "region": "eu-west-1",
    "resources": [],
    "detail": {
        "int": 42,
        "neg": -7,
        "float": 1.5,
        "true": True,
        "false": False,
        "null": None,
        "empty": "",
        "obj": {"a": 1, "b": "x y", "c": [True, None]},
        "arr": ["ACTIVE", "INACTIVE"],
        "nums": [1, 2, 3],
        "nested": {"deep": {"deeper": {"leaf": "found"}}},
        "items": [{"id": 1, "tags": ["a"]}, {"id": 2, "tags": ["b", "c"]}, {"name": "no id"}],
        "quote": 'say "hi"',
        "backslash": "C:\\temp\\new",
        "newline": "line1\nline2\ttab\r",
        "unicode": "naïve café ☃ 😀",
        "control": "bell\x07nul\x00",
        "html": "<b>bold</b>",
        "slash/key": "slashed",
        "big": 2**70,
        "obj_quotes": {"k": 'v "q"'},
    },
}


def shaper(target: dict[str, Any]) -> InputShaper:
    return compile_input(target)


def shape(target: dict[str, Any], event: dict[str, Any] = EC2_EVENT, raw: bytes | None = None) -> bytes:
    raw = json.dumps(event).encode() if raw is None else raw
    return shaper(target).shape(event, raw, rule_arn=RULE_ARN, rule_name=RULE_NAME, ingestion_time=INGESTION_TIME)


def transform(template: str, paths: dict[str, str] | None = None, event: dict[str, Any] = EC2_EVENT) -> bytes:
    transformer: dict[str, Any] = {"InputTemplate": template}
    if paths is not None:
        transformer["InputPathsMap"] = paths
    return shape({"InputTransformer": transformer}, event)


# --- The user guide's "Input transform examples" table, on its EC2 event. ---------------------

USER_GUIDE_EXAMPLES = [
    pytest.param('"instance <instance> is in <state>"', b'"instance i-0123456789 is in RUNNING"', id="simple-string"),
    pytest.param(
        '"instance \\"<instance>\\" is in <state>"',
        b'"instance \\"i-0123456789\\" is in RUNNING"',
        id="string-with-escaped-quotes",
    ),
    pytest.param(
        '{\n  "instance" : <instance>,\n  "state": <state>\n}',
        b'{"instance":"i-0123456789","state":"RUNNING"}',
        id="simple-json",
    ),
    pytest.param(
        '{\n "instance" : <instance>,\n "state": "<state>",\n'
        ' "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
        b'{"instance":"i-0123456789","state":"RUNNING","instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}',
        id="json-with-strings-and-variables",
    ),
    pytest.param(
        '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}\n',
        b'{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}',
        id="json-mix-of-variables-and-static",
    ),
    pytest.param('"<aws.events.rule-name> triggered"', b'"example triggered"', id="reserved-variable-in-string"),
    pytest.param(
        '{\n  "timestamp" : <timestamp>,\n  "message": "instance \\"<instance>\\" is in <state>"\n}',
        b'{"timestamp":"2015-11-11T21:29:54Z","message":"instance \\"i-0123456789\\" is in RUNNING"}',
        id="cloudwatch-log-group",
    ),
    pytest.param(
        '{"resource": <resource>, "first": "<resource>"}',
        b'{"resource":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111",'
        b'"first":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}',
        id="array-index-path",
    ),
]


@pytest.mark.parametrize(("template", "expected"), USER_GUIDE_EXAMPLES)
def test_user_guide_examples(template: str, expected: bytes) -> None:
    assert transform(template, EC2_PATHS) == expected


def test_user_guide_reserved_variables_in_json() -> None:
    template = (
        '{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,\n'
        '  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event>\n}'
    )
    out = transform(template, EC2_PATHS)
    assert out.startswith(
        b'{"instance":"i-0123456789","state":"RUNNING",'
        b'"ruleArn":"arn:aws:events:us-east-2:123456789012:rule/example","ruleName":"example","originalEvent":{'
    )
    assert orjson.loads(out)["originalEvent"] == {
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "account": "123456789012",
        "detailType": "EC2 Instance State-change Notification",
        "time": "2015-11-11T21:29:54Z",
        "source": "aws.ec2",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "version": "0",
    }


def test_api_reference_json_example_with_variables_in_and_out_of_quotes() -> None:
    paths = {"instance": "$.detail.instance", "status": "$.detail.status"}
    event = {"detail": {"instance": "i-1", "status": "stopped"}}
    out = transform('{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}', paths, event)
    assert out == b'{"myInstance":"i-1","myStatus":"i-1 is in state \\"stopped\\""}'


# --- Outputs recorded against AWS (LocalStack's validated snapshots of real EventBridge). -------

RECORDED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "0b6f3f4a-0000-0000-0000-000000000000",
    "detail-type": "core.update-account-command",
    "source": "core.update-account-command",
    "account": "111111111111",
    "time": "2024-06-11T08:33:04Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"command": "update-account", "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}},
}
RECORDED_PATHS = {"detail-type": "$.detail-type", "timestamp": "$.time", "command": "$.detail.command"}
RECORDED_PATHS_MISSING = RECORDED_PATHS | {"command": "$.detail.notinmessage"}


@pytest.mark.parametrize(
    ("template", "paths", "expected"),
    [
        pytest.param(
            '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"',
            RECORDED_PATHS,
            b'"Event of core.update-account-command type, at time 2024-06-11T08:33:04Z,'
            b' info extracted from detail update-account"',
            id="string-all-present",
        ),
        pytest.param(
            '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"',
            RECORDED_PATHS_MISSING,
            b'"Event of core.update-account-command type, at time 2024-06-11T08:33:04Z, info extracted from detail "',
            id="string-missing-path-is-empty",
        ),
        pytest.param(
            '"{[/Check with special starting characters for event of <detail-type> type"',
            RECORDED_PATHS,
            b'"{[/Check with special starting characters for event of core.update-account-command type"',
            id="string-starting-with-brackets",
        ),
        pytest.param(
            '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}',
            RECORDED_PATHS,
            b'{"detailType":"core.update-account-command","time":"2024-06-11T08:33:04Z","command":"update-account"}',
            id="json-all-present",
        ),
        pytest.param(
            '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}',
            RECORDED_PATHS_MISSING,
            b'{"detailType":"core.update-account-command","time":"2024-06-11T08:33:04Z","command":""}',
            id="json-missing-path-is-empty-string",
        ),
    ],
)
def test_outputs_recorded_against_aws(template: str, paths: dict[str, str], expected: bytes) -> None:
    assert transform(template, paths, RECORDED_EVENT) == expected


def test_predefined_variables_in_a_string() -> None:
    out = transform(
        '"Message containing all pre defined variables <aws.events.rule-arn> <aws.events.rule-name>'
        ' <aws.events.event.ingestion-time>"',
        None,
        RECORDED_EVENT,
    )
    assert out == f'"Message containing all pre defined variables {RULE_ARN} {RULE_NAME} {INGESTION_TIME}"'.encode()


def test_event_variables_as_json_values() -> None:
    out = transform('{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}', None,
                    RECORDED_EVENT)
    parsed = orjson.loads(out)
    assert list(parsed["originalEvent"]) == [
        "id", "account", "detailType", "time", "source", "region", "resources", "version"
    ]
    assert "detail" not in parsed["originalEvent"]
    assert parsed["originalEventJson"] == RECORDED_EVENT


def test_event_json_is_the_raw_payload_byte_for_byte() -> None:
    raw = b'{ "id" : "e-9",  "detail" : {"n": 1.50} }'
    event = json.loads(raw)
    out = shaper({"InputTransformer": {"InputTemplate": '{"e": <aws.events.event.json>}'}}).shape(
        event, raw, rule_arn=RULE_ARN, rule_name=RULE_NAME, ingestion_time=INGESTION_TIME
    )
    assert out == b'{"e":' + raw + b"}"


def test_event_summary_leaves_out_fields_the_event_lacks() -> None:
    out = transform("<aws.events.event>", None, {"id": "only-id", "detail": {"x": 1}, "custom": True})
    assert out == b'{"id":"only-id"}'


def test_predefined_string_variables_are_quoted_as_values() -> None:
    out = transform('[<aws.events.rule-arn>, <aws.events.rule-name>, <aws.events.event.ingestion-time>]')
    assert out == f'["{RULE_ARN}","{RULE_NAME}","{INGESTION_TIME}"]'.encode()


# --- Every JSON type, inside and outside quotes. ------------------------------------------------

TYPE_CASES = [
    # path, as a JSON value, inside a string
    pytest.param("$.detail.int", b"42", b"42", id="int"),
    pytest.param("$.detail.neg", b"-7", b"-7", id="negative"),
    pytest.param("$.detail.float", b"1.5", b"1.5", id="float"),
    pytest.param("$.detail.true", b"true", b"true", id="true"),
    pytest.param("$.detail.false", b"false", b"false", id="false"),
    pytest.param("$.detail.null", b"null", b"null", id="null"),
    pytest.param("$.detail.empty", b'""', b"", id="empty-string"),
    pytest.param("$.detail.obj", b'{"a":1,"b":"x y","c":[true,null]}', None, id="object"),
    pytest.param("$.detail.arr", b'["ACTIVE","INACTIVE"]', None, id="array-of-strings"),
    pytest.param("$.detail.nums", b"[1,2,3]", None, id="array-of-numbers"),
    pytest.param("$.detail.nested.deep.deeper.leaf", b'"found"', b"found", id="deep-path"),
    pytest.param("$.detail.nested.deep", b'{"deeper":{"leaf":"found"}}', None, id="nested-object"),
    pytest.param("$.detail.items[1].tags[1]", b'"c"', b"c", id="indices"),
    pytest.param("$.detail.items[-1].name", b'"no id"', b"no id", id="negative-index"),
    pytest.param("$.detail.items[*].id", b"[1,2]", None, id="wildcard-skips-missing"),
    pytest.param("$.detail.items[*].tags[*]", b'["a","b","c"]', None, id="nested-wildcards"),
    pytest.param("$.detail.nested.*", b'[{"deeper":{"leaf":"found"}}]', None, id="object-wildcard"),
    pytest.param("$.detail.nope[*]", b"[]", None, id="wildcard-no-match"),
    pytest.param("$.detail.slash/key", b'"slashed"', b"slashed", id="slash-in-name"),
    pytest.param("$.detail.big", b"1180591620717411303424", b"1180591620717411303424", id="int-past-64-bits"),
    pytest.param("$.detail.obj_quotes", b'{"k":"v \\"q\\""}', None, id="object-with-quotes-in-string"),
    pytest.param("$.detail.nope", b'""', b"", id="missing-key"),
    pytest.param("$.detail.items[9]", b'""', b"", id="index-out-of-range"),
    pytest.param("$.detail.int.x", b'""', b"", id="key-of-a-number"),
    pytest.param("$.detail.quote[0]", b'""', b"", id="index-into-a-string"),
    pytest.param("$.detail.obj[0]", b'""', b"", id="index-into-an-object"),
    pytest.param("$.detail.arr.x", b'""', b"", id="key-of-an-array"),
]


@pytest.mark.parametrize(("path", "as_value", "in_string"), TYPE_CASES)
def test_value_types_inside_and_outside_quotes(path: str, as_value: bytes, in_string: bytes | None) -> None:
    assert transform('{"v": <v>}', {"v": path}, TYPED_EVENT) == b'{"v":' + as_value + b"}"
    if in_string is None:
        # An object or an array inside quotes: AWS sends no input, busbar refuses to guess one.
        with pytest.raises(ShapingFailed, match=r"<v> inside a JSON string.*(an object|an array)"):
            transform('{"v": <v>, "s": "[<v>]"}', {"v": path}, TYPED_EVENT)
        return
    out = transform('{"v": <v>, "s": "[<v>]"}', {"v": path}, TYPED_EVENT)
    assert out == b'{"v":' + as_value + b',"s":"[' + in_string + b']"}'
    json.loads(out)


@pytest.mark.parametrize("template", ['{"link": "users/<payload>"}', '{"payload": "<payload>"}', '"<payload>"'])
def test_an_object_inside_a_string_shapes_nothing(template: str) -> None:
    event = {**TYPED_EVENT, "detail": {"payload": {"user": "ada"}}}
    with pytest.raises(ShapingFailed, match="<payload>"):
        transform(template, {"payload": "$.detail.payload"}, event)
    # The same template still shapes events whose value is a single value.
    single = transform(template, {"payload": "$.detail.payload"}, {**TYPED_EVENT, "detail": {"payload": 7}})
    assert b"7" in single
    json.loads(single)


# --- Special characters in values: escaped so the output stays JSON, and round-trip. -----------

SPECIAL_CASES = [
    pytest.param("quote", 'say "hi"', b'"say \\"hi\\""', id="double-quotes"),
    pytest.param("backslash", "C:\\temp\\new", b'"C:\\\\temp\\\\new"', id="backslashes"),
    pytest.param("newline", "line1\nline2\ttab\r", b'"line1\\nline2\\ttab\\r"', id="newline-tab-cr"),
    pytest.param("unicode", "naïve café ☃ 😀", '"naïve café ☃ 😀"'.encode(), id="unicode-unescaped"),
    pytest.param("control", "bell\x07nul\x00", b'"bell\\u0007nul\\u0000"', id="control-characters"),
    pytest.param("html", "<b>bold</b>", b'"<b>bold</b>"', id="angle-brackets-in-value"),
]


@pytest.mark.parametrize(("key", "text", "as_value"), SPECIAL_CASES)
def test_special_characters(key: str, text: str, as_value: bytes) -> None:
    out = transform('{"v": <v>, "s": "<<v>>"}', {"v": f"$.detail.{key}"}, TYPED_EVENT)
    assert out == b'{"v":' + as_value + b',"s":"<' + as_value[1:-1] + b'>"}'
    assert json.loads(out) == {"v": text, "s": f"<{text}>"}


def test_string_template_with_special_characters_stays_one_json_string() -> None:
    out = transform('"<q> / <b> / <n>"', {"q": "$.detail.quote", "b": "$.detail.backslash", "n": "$.detail.newline"},
                    TYPED_EVENT)
    assert json.loads(out) == 'say "hi" / C:\\temp\\new / line1\nline2\ttab\r'


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@given(value=ANY_JSON)
def test_any_value_gives_valid_json_and_values_survive(value: Any) -> None:
    if isinstance(value, dict | list):
        with pytest.raises(ShapingFailed):
            transform('{"v": <v>, "s": "=<v>="}', {"v": "$.detail.v"}, {"detail": {"v": value}})
        out = transform('{"v": <v>}', {"v": "$.detail.v"}, {"detail": {"v": value}})
        assert json.loads(out)["v"] == value
        return
    out = transform('{"v": <v>, "s": "=<v>="}', {"v": "$.detail.v"}, {"detail": {"v": value}})
    parsed = json.loads(out)
    assert parsed["v"] == value
    if isinstance(value, str):
        assert parsed["s"] == f"={value}="


# --- Template text: minified, placeholders only where a name is, several top-level values. -----


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param('  {  "a b" : "  keep  spaces  " ,\n\t"c" : [ 1 , 2 ] }  ', b'{"a b":"  keep  spaces  ","c":[1,2]}',
                     id="whitespace-outside-strings-dropped"),
        pytest.param('"a < b and c > d"', b'"a < b and c > d"', id="angle-brackets-not-a-placeholder"),
        pytest.param('"<not a placeholder>"', b'"<not a placeholder>"', id="spaces-not-a-placeholder-name"),
        pytest.param('"<<state>>"', b'"<RUNNING>"', id="placeholder-in-angle-brackets"),
        pytest.param('"<state><state>"', b'"RUNNINGRUNNING"', id="adjacent-placeholders"),
        pytest.param('"\\\\<state>"', b'"\\\\RUNNING"', id="escaped-backslash-before-placeholder"),
        pytest.param('"\\u003cstate>"', b'"\\u003cstate>"', id="unicode-escape-is-not-a-placeholder"),
        pytest.param('{"<state>": 1}', b'{"RUNNING":1}', id="placeholder-inside-quoted-key"),
        pytest.param("<state>", b'"RUNNING"', id="bare-placeholder-template"),
        pytest.param("42", b"42", id="constant-number-template"),
        pytest.param('"line one <state>"\n"line two <instance>"\n', b'"line one RUNNING"\n"line two i-0123456789"',
                     id="multiline-text-one-string-per-line"),
        pytest.param('"a"\n\n  "b"', b'"a"\n"b"', id="blank-lines-between-values-collapse"),
        pytest.param('{"a": 1}\n{"b": <state>}', b'{"a":1}\n{"b":"RUNNING"}', id="several-objects"),
    ],
)
def test_template_text(template: str, expected: bytes) -> None:
    assert transform(template, EC2_PATHS) == expected


def test_same_variable_used_many_times_and_unused_paths_are_fine() -> None:
    out = transform('[<state>, "<state>", <state>]', EC2_PATHS | {"unused": "$.nothing.here"})
    assert out == b'["RUNNING","RUNNING","RUNNING"]'


def test_shaper_is_reusable_across_events() -> None:
    compiled = shaper({"InputTransformer": {"InputPathsMap": {"s": "$.detail.state"}, "InputTemplate": "<s>"}})
    outputs = [
        compiled.shape({"detail": {"state": state}}, b"", rule_arn="", rule_name="", ingestion_time="")
        for state in ("A", "B")
    ]
    assert outputs == [b'"A"', b'"B"']


# --- No input settings, Input, InputPath. -------------------------------------------------------


def test_whole_event_returns_raw_untouched() -> None:
    raw = b'{"id":  "kept exactly"}\n'
    compiled = shaper({"Id": "t1", "Arn": "arn:aws:sqs:us-east-1:1:q"})
    assert compiled.shape({}, raw, rule_arn=RULE_ARN, rule_name=RULE_NAME, ingestion_time=INGESTION_TIME) is raw


def test_input_none_values_count_as_absent() -> None:
    raw = b"{}"
    compiled = shaper({"Input": None, "InputPath": None, "InputTransformer": None})
    assert compiled.shape({}, raw, rule_arn="", rule_name="", ingestion_time="") is raw


def test_constant_input_is_sent_as_given_for_every_event() -> None:
    text = '{ "fixed" : [1, 2],  "ü": "\\u00fc" }'
    compiled = shaper({"Input": text})
    for event in (EC2_EVENT, TYPED_EVENT):
        assert compiled.shape(event, b"{}", rule_arn="", rule_name="", ingestion_time="") == text.encode()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("$.detail", b'{"instance-id":"i-0123456789","state":"RUNNING"}', id="object"),
        pytest.param("$.detail.state", b'"RUNNING"', id="string-is-json-quoted"),
        pytest.param("$.resources[0]", b'"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"', id="index"),
        pytest.param("$.resources[*]", b'["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]', id="wildcard"),
        pytest.param("$.detail.nothing", b"null", id="missing-is-null"),
    ],
)
def test_input_path(path: str, expected: bytes) -> None:
    assert shape({"InputPath": path}) == expected


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        pytest.param({"order": {"id": "o-1"}}, b'"o-1"', id="found"),
        pytest.param({"order": {"id": None}}, b"null", id="found-null"),
        pytest.param({"order": {"id": {"n": 1}}}, b'{"n":1}', id="found-object"),
        pytest.param({"order": {}}, b"null", id="missing-name"),
        pytest.param({"order": ["id"]}, b"null", id="through-an-array"),
        pytest.param({"order": "id"}, b"null", id="through-a-string"),
        pytest.param({"order": 7}, b"null", id="through-a-number"),
        pytest.param({"order": None}, b"null", id="through-null"),
        pytest.param({"order": True}, b"null", id="through-a-boolean"),
    ],
)
def test_a_path_of_names_finds_only_what_objects_hold(detail: dict[str, Any], expected: bytes) -> None:
    compiled = shaper({"InputPath": "$.detail.order.id"})
    assert compiled.shape({"detail": detail}, b"{}", rule_arn="", rule_name="", ingestion_time="") == expected


def test_input_path_root_is_the_raw_event() -> None:
    raw = b'{"id" : "as sent"}'
    compiled = shaper({"InputPath": "$"})
    assert compiled.shape({"id": "as sent"}, raw, rule_arn="", rule_name="", ingestion_time="") is raw


# --- Validation: what PutTargets refuses, with the message naming the field. --------------------


def _transformer(template: Any = '"x"', paths: Any = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"InputTemplate": template}
    if paths is not None:
        spec["InputPathsMap"] = paths
    return {"InputTransformer": spec}


INVALID = [
    pytest.param([], "target must be an object, got list", id="target-not-object"),
    pytest.param({"Input": "{}", "InputPath": "$.a"}, "more than one of Input, InputPath, InputTransformer: Input, InputPath",
                 id="input-and-path"),
    pytest.param({"InputPath": "$.a", **_transformer()},
                 "more than one of Input, InputPath, InputTransformer: InputPath, InputTransformer",
                 id="path-and-transformer"),
    pytest.param({"Input": "{}", "InputPath": "$", **_transformer()},
                 "more than one of Input, InputPath, InputTransformer: Input, InputPath, InputTransformer", id="all-three"),
    pytest.param({"Input": 5}, "Input must be a string of JSON, got int", id="input-not-string"),
    pytest.param({"Input": '{"a":'}, "Input is not valid JSON", id="input-truncated"),
    pytest.param({"Input": ""}, "Input is not valid JSON", id="input-empty"),
    pytest.param({"Input": "NaN"}, "Input is not valid JSON", id="input-nan"),
    pytest.param({"Input": "hello"}, "Input is not valid JSON", id="input-bare-word"),
    pytest.param({"Input": '"' + "x" * 8191 + '"'}, "Input is longer than 8192 characters", id="input-too-long"),
    pytest.param({"InputPath": 3}, "InputPath: must be a JSONPath string, got int", id="path-not-string"),
    pytest.param({"InputPath": "detail"}, "InputPath: invalid JSONPath 'detail' (must start with '$')", id="no-root"),
    pytest.param({"InputPath": "$..x"}, "InputPath: invalid JSONPath '$..x' (recursive descent '..' is not supported)",
                 id="recursive-descent"),
    pytest.param({"InputPath": "$.a[?(@.b)]"}, "(filter expressions are not supported)", id="filter"),
    pytest.param({"InputPath": "$['a']"}, "(bracket notation for names is not supported, use dot notation)",
                 id="bracket-notation"),
    pytest.param({"InputPath": "$.a[0:2]"}, "(array slices and unions are not supported)", id="slice"),
    pytest.param({"InputPath": "$.a[0,1]"}, "(array slices and unions are not supported)", id="union"),
    pytest.param({"InputPath": "$.a."}, "InputPath: invalid JSONPath '$.a.' (ends with '.')", id="trailing-dot"),
    pytest.param({"InputPath": "$.a b"}, "InputPath: invalid JSONPath '$.a b' (unsupported syntax at position 3: ' b')",
                 id="space"),
    pytest.param({"InputPath": "$." + "a" * 255}, "InputPath: JSONPath is longer than 256 characters", id="path-too-long"),
    pytest.param({"InputTransformer": "x"},
                 "InputTransformer must be an object with InputTemplate and optional InputPathsMap", id="not-object"),
    pytest.param({"InputTransformer": {}}, "InputTransformer.InputTemplate: is required and must be a string",
                 id="no-template"),
    pytest.param(_transformer(""), "InputTransformer.InputTemplate: must not be empty", id="empty-template"),
    pytest.param(_transformer(" \n "), "InputTransformer.InputTemplate: must not be only whitespace",
                 id="whitespace-template"),
    pytest.param(_transformer('"' + "x" * 8191 + '"'), "InputTransformer.InputTemplate: is longer than 8192 characters",
                 id="template-too-long"),
    pytest.param(_transformer('"\ud800"'), "InputTransformer.InputTemplate: contains an unpaired surrogate",
                 id="template-surrogate"),
    pytest.param(_transformer(paths=["$.a"]), "InputTransformer.InputPathsMap must be an object of name: JSONPath",
                 id="paths-not-object"),
    pytest.param(_transformer(paths={f"k{i}": "$.a" for i in range(101)}),
                 "InputTransformer.InputPathsMap has 101 entries, at most 100 are allowed", id="too-many-paths"),
    pytest.param(_transformer(paths={"foo": "$..x"}),
                 "InputTransformer.InputPathsMap.foo: invalid JSONPath '$..x' (recursive descent '..' is not supported)",
                 id="bad-path-in-map"),
    pytest.param(_transformer(paths={"foo": None}), "InputTransformer.InputPathsMap.foo: must be a JSONPath string",
                 id="path-in-map-not-string"),
    pytest.param(_transformer(paths={"aws.mine": "$.a"}),
                 "InputTransformer.InputPathsMap.aws.mine: names starting with 'aws.' are reserved", id="reserved-name"),
    pytest.param(_transformer(paths={"AWS.events.rule-name": "$.a"}),
                 "InputTransformer.InputPathsMap.AWS.events.rule-name: names starting with 'aws.' are reserved",
                 id="reserved-name-any-case"),
    pytest.param(_transformer(paths={"a b": "$.a"}),
                 "InputTransformer.InputPathsMap: name 'a b' must be 1-256 letters, digits, '_' or '-'", id="name-space"),
    pytest.param(_transformer(paths={"": "$.a"}),
                 "InputTransformer.InputPathsMap: name '' must be 1-256 letters, digits, '_' or '-'", id="name-empty"),
    pytest.param(_transformer(paths={"n" * 257: "$.a"}), "must be 1-256 letters, digits, '_' or '-'", id="name-too-long"),
    pytest.param(_transformer(paths={1: "$.a"}), "InputTransformer.InputPathsMap: name 1 is not a string",
                 id="name-not-string"),
    pytest.param(_transformer('"<bar>"', {"foo": "$.a"}),
                 "InputTransformer.InputTemplate: placeholder <bar> is not defined in InputPathsMap", id="unknown-placeholder"),
    pytest.param(_transformer("{<foo>: 1}", {"foo": "$.a"}),
                 "InputTransformer.InputTemplate: placeholder <foo> cannot be used as an object key", id="placeholder-key"),
    pytest.param(_transformer('"<aws.events.event>"'),
                 "InputTransformer.InputTemplate: <aws.events.event> inserts unescaped JSON", id="event-in-quotes"),
    pytest.param(_transformer('{"e": "x <aws.events.event.json>"}'),
                 "InputTransformer.InputTemplate: <aws.events.event.json> inserts unescaped JSON", id="event-json-in-quotes"),
    pytest.param(_transformer("<foo> is in state <foo>", {"foo": "$.a"}),
                 "InputTransformer.InputTemplate: not valid JSON with placeholders filled in"
                 " (Expecting value, template character 6)", id="unquoted-string-template"),
    pytest.param(_transformer('{"a": <foo>,}', {"foo": "$.a"}),
                 "(Expecting property name enclosed in double quotes, template character 12)", id="trailing-comma"),
    pytest.param(_transformer('{"a": <foo>5}', {"foo": "$.a"}), "not valid JSON", id="placeholder-glued-to-number"),
    pytest.param(_transformer('{"a": "<foo>}', {"foo": "$.a"}), "not valid JSON", id="unterminated-string"),
    pytest.param(_transformer('"line1\nline2"'), "(Invalid control character at, template character 6)",
                 id="raw-newline-in-string"),
    pytest.param(_transformer('{"a": NaN}'), "not valid JSON", id="nan-constant"),
    pytest.param(_transformer("{'a': 1}"), "not valid JSON", id="single-quotes"),
]


@pytest.mark.parametrize(("target", "message"), INVALID)
def test_invalid_specs_are_rejected_naming_the_problem(target: Any, message: str) -> None:
    with pytest.raises(InvalidInputSpec) as raised:
        compile_input(target)
    assert message in str(raised.value)


def test_invalid_spec_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="more than one of"):
        compile_input({"Input": "1", "InputPath": "$"})


def test_limits_themselves_are_accepted() -> None:
    compile_input({"Input": '"' + "x" * 8190 + '"'})
    compile_input({"InputPath": "$." + "a" * 254})
    compile_input(_transformer('"' + "x" * 8190 + '"', {f"k{i}": "$.a" for i in range(100)}))
    compile_input(_transformer('"<' + "n" * 256 + '>"', {"n" * 256: "$.a"}))
