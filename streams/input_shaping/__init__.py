"""Target input shaping: what EventBridge sends a target instead of (or as) the matched event.

A target may set at most one of ``Input`` (constant JSON), ``InputPath`` (one JSONPath into
the event) or ``InputTransformer`` (named JSONPaths filled into ``InputTemplate``); with none
the event goes as it came. :func:`compile_input` validates this once, when the target is
stored, and returns an :class:`InputShaper` whose ``shape`` runs per matched event.

Behaviour, and where it comes from (the "Amazon EventBridge input transformation" user
guide, the API reference's InputTransformer page, and outputs recorded against AWS):

* **Placeholder inside quotes** (``"state is <state>"``): the value's text. Strings go in
  without quotes; numbers, ``true``, ``false`` and ``null`` as their JSON text. An object or
  an array there gives no valid input: EventBridge delivers nothing to that target, and
  ``shape`` raises ShapingFailed (a ValueError) naming the placeholder.
* **Placeholder where a value goes** (``{"state": <state>}``): the value as JSON, so strings
  gain quotes and objects/arrays go in whole.
* **A path that matches nothing**: the variable is the empty string: nothing inside quotes,
  ``""`` as a value (AWS-recorded output, not ``null``).
* **String templates** are JSON string literals, e.g. ``"instance <instance> is in <state>"``,
  and the target receives that literal with the quotes. Several literals on separate lines
  (what CDK's ``RuleTargetInput.fromMultilineText`` writes) are sent one per line.
* **Predefined variables**: ``<aws.events.rule-arn>``, ``<aws.events.rule-name>`` and
  ``<aws.events.event.ingestion-time>`` are strings; ``<aws.events.event>`` is the event
  without ``detail`` and with ``detail-type`` spelled ``detailType``; ``<aws.events.event.json>``
  is the event exactly as received. The last two are raw JSON and are refused inside quotes.
* Output JSON is minified, as EventBridge sends it; ``Input`` is sent exactly as given.

Validation, as PutTargets does it: one of the three at most; ``Input`` valid JSON of at most
8192 characters; JSONPaths of EventBridge's subset, at most 256 characters; at most 100
InputPathsMap names of ``[A-Za-z0-9_-]``, none starting with ``aws.``; a template of 1-8192
characters whose every ``<name>`` is defined (AWS: "contains invalid placeholder"), with no
placeholder used as an object key, and that is valid JSON whatever values are filled in.

Where busbar knowingly differs from AWS: values inserted inside quotes are escaped (AWS
inserts them raw, so a value holding ``"`` or ``\\`` makes its output invalid JSON), an
``InputPath`` that matches nothing sends ``null``, and an event AWS drops for an object or
array inside quotes goes to the target's dead-letter path with the reason.
"""

from streams.input_shaping.errors import InvalidInputSpec, ShapingFailed
from streams.input_shaping.shapers import InputShaper, compile_input

__all__ = ["InputShaper", "InvalidInputSpec", "ShapingFailed", "compile_input"]
