"""One paragraph per failure, written for the participant: what happened, what to do.

A reason is one line. What in it came from the submission (its error message, a file
name, what its predictions looked like) is cleaned and bounded by
`scorer.untrusted.clean_text`: at most MESSAGE_CHARS + FILE_CHARS characters of a
reason are the submission's own."""

from __future__ import annotations

import re

from scorer.backends.base import IngestOutcome
from scorer.task import Limits
from scorer.untrusted import FILE_CHARS, MESSAGE_CHARS, clean_text

# What a limit error (its errno, as the ingestion quotes it) says the submission hit.
LIMIT_ERRNO = re.compile(r"\[Errno (28|122|24|23|27)\]")
LIMIT_ADVICE = {
    "28": "it filled its scratch space ({where}); write fewer and larger files, or keep "
          "the data in memory",
    "122": "it went over its disk quota; write fewer and smaller files",
    "24": "it opened more files at once than allowed; close each file once written",
    "23": "the system ran out of open files; close each file once written",
    "27": "a file it wrote grew past the largest file allowed; write smaller files",
}
STAGE_WORDS = {"load": "importing its files", "fit": "training (fit)",
               "predict": "predicting", "validate": "checking its predictions"}


def explain(outcome: IngestOutcome, error: dict | None, limits: Limits, *,
            local: bool = False, prediction: str | None = None) -> str:
    """`local`: the reader is running `gitramp test` already, so the reason does not send
    them to it (it would on a runner). `prediction`: the kit's prediction type, for what
    an invalid output should have been."""
    status = outcome.status
    if status == "timeout":
        return (f"The submission ran longer than this challenge's limit of {limits.timeout} s "
                "and was stopped. Make it faster (fewer iterations or estimators, a "
                "subsample), or look for a loop that never ends; "
                + ("--quick-test" if local else "`gitramp test --quick-test`")
                + " runs it on a small slice of the data.")
    if status == "oom":
        return (f"The submission used more than this challenge's memory limit of "
                f"{limits.memory} and was stopped. Use less memory: smaller models, "
                "float32 arrays, fewer copies of the data, or batches.")
    if status == "output_limit":
        return (f"The submission wrote more output than the {limits.max_output_bytes} bytes "
                "allowed and was stopped. Write only what the workflow asks for, and print "
                "less.")
    if status == "invalid_output":
        return invalid_output(outcome.message or "unreadable predictions", prediction)
    stage = (error or {}).get("stage")
    if stage in STAGE_WORDS:
        # error.json is the submission's word: parse_error cleaned and bounded it, and
        # it is cleaned again here in case a caller did not use parse_error.
        file = clean_text(error.get("file"), FILE_CHARS)
        line = error.get("line") if isinstance(error.get("line"), int) else None
        where = f" in {file}" + (f", line {line}" if line is not None else "") if file else ""
        message = clean_text(error.get("message"), MESSAGE_CHARS) or "no message"
        hit = LIMIT_ERRNO.search(message)
        if hit:  # a limit, not a bug: say which and what to do
            scratch = (f"on a runner, /tmp holds {limits.tmpfs}, and at most one file per 4 KB "
                       "of that")
            return (f"The submission hit a file limit while {STAGE_WORDS[stage]}{where}: "
                    f"{message}. That is not memory: "
                    + LIMIT_ADVICE[hit.group(1)].format(where=scratch) + ".")
        return (f"The submission failed while {STAGE_WORDS[stage]}{where}: {message}. "
                + ("The traceback below shows where; fix it and run it again." if local else
                   "Run `gitramp test` on it locally to see the whole traceback, fix it and "
                   "submit again."))
    detail = f" ({clean_text(outcome.message, MESSAGE_CHARS)})" if outcome.message else ""
    return (f"The submission's process stopped before writing its predictions{detail}. "
            "Look at the log below" + ("." if local else
                                       "; run `gitramp test` locally to reproduce it."))


# What a workflow's predictions must be, by the kit's prediction type.
EXPECTED = {
    "multiclass": "predict_proba returns one row per input row and one probability per "
                  "class, numbers in [0, 1], each row summing to 1",
    "binary": "predict_proba returns one row per input row and one probability per "
              "class (two columns), numbers in [0, 1], each row summing to 1",
    "regression": "predict returns one finite number per input row (a flat array)",
    "detection": "predict returns, for each image, a list of (confidence, x, y, radius) "
                 "circles of finite numbers (an empty list for an image without one)",
    "combined": "each row is the class probabilities (one per class, summing to 1) "
                "followed by the quantity: the classifier's predict_proba and the "
                "regressor's predict, one finite number per input row",
    "clustering": "predict_single_event returns one integer cluster id per point of the "
                  "event (negative: in no cluster)",
}
GENERIC = ("predict/predict_proba returns one row per input row, numbers only, and for "
           "classification one probability per class, each row summing to 1")


def invalid_output(detail: str, prediction: str | None = None) -> str:
    """`prediction`: the kit's prediction type (multiclass, binary, regression,
    detection, combined), which says what the predictions should have been."""
    detail = clean_text(detail, MESSAGE_CHARS)
    return (f"The submission's predictions could not be used: {detail}. Check that "
            f"{EXPECTED.get(prediction or '', GENERIC)}.")
