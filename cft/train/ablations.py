"""Ablations of critique content (issue #16 item 5): what a CFT run's *targets* are made of, nothing else.

A CFT example is (question + noisy response) -> critique. These config fields (TrainConfig) change only the critique
side and which samples enter, so two runs that differ in one of them are a clean ablation of critique content:

- ``critique_source``: ``current`` (the critique in the store, human-corrected when an annotator edited it) or
  ``teacher`` (the teacher's original: ``original_critique`` when one was kept, else the critique itself);
- ``critique_transform``: ``full``; ``strip-solution`` (:func:`strip_solution`: the parts that restate a solution or
  the answer are cut, the critique of the student's steps and the verdict stay); ``verdict-only``
  (:func:`verdict_only`: ``Conclusion: right [END]`` or ``Conclusion: wrong [END]`` alone);
- ``sample_require``: ``corrected`` keeps only samples whose critique an annotator changed (the only samples where
  "teacher" and "current" differ); ``verdict`` only samples whose critique states a verdict. Both arms of an
  ablation share it, so they train on the same questions and responses;
- ``wrong_ratio``: the share of ``wrong``-verdict examples (-1: the data's natural share). The examples are
  resampled (seeded) to that share *at the same number of examples*, so the arms see equally many sequences.

Pure functions; :func:`apply` is what cft.train.examples calls. Launching a pair: cft.reproduce.ablation.
"""

from __future__ import annotations

import random
import re

from cft.errors import UserError

CRITIQUE_SOURCES = ("current", "teacher")
CRITIQUE_TRANSFORMS = ("full", "strip-solution", "verdict-only")
SAMPLE_REQUIRES = ("", "corrected", "verdict")
NATURAL = -1.0  # wrong_ratio: keep the data's own share of wrong verdicts

# A heading (markdown, numbered, "Step N", or a bold line) that announces a solution or a correction. The
# One-Shot CFT teacher writes e.g. "3. Correct Solution:", "### Step 3: Correct solution", "3. Error and Correction:".
_HEADING = re.compile(r"^\s*(#{1,6}\s*|\*\*|(step\s*)?\d+\s*[.):]\s*|step\s*\d+\s*[.:]?\s*)", re.IGNORECASE)
_SOLUTION_HEADING = re.compile(
    r"correct(ed)?\s+(solution|answer|approach\s+and\s+solution|working|calculation)|correction|"
    r"(right|proper|full|complete)\s+solution|solution\s*\(corrected\)|how\s+to\s+solve\s+it", re.IGNORECASE)
# A paragraph that opens by handing over the solution ("The correct solution is ...", "Here is the correct ...").
_SOLUTION_LEAD = re.compile(
    r"^\s*(\*\*)?(the\s+correct\s+(solution|answer|approach|calculation|final\s+answer)|here\s+is\s+the\s+correct|"
    r"here'?s\s+the\s+correct|let'?s\s+solve\s+(it|this)\s+correctly|the\s+correct\s+way|correct\s+solution\s*:|"
    r"correct\s+answer\s*:|the\s+answer\s+should\s+be)", re.IGNORECASE)
# A line that announces a full solution to come ("Let me fix this and provide the correct solution:"): cut to the
# next heading or the conclusion, as a solution heading is.
_SOLUTION_INTRO = re.compile(r"(provide|give|write|show|here\s+is|here'?s)\s+(you\s+)?(the|a)\s+(full\s+|complete\s+)?"
                             r"(correct(ed)?|right|proper)\s+solution", re.IGNORECASE)
_CONCLUSION = re.compile(r"conclusion\s*[:：]?\s*[*_`\s]*(right|wrong|correct|incorrect)\b", re.IGNORECASE)
_BOXED = "\\boxed"


def changes_targets(config) -> bool:
    """Whether a TrainConfig's ablation fields differ from the plain CFT run's (the critique as stored, all of it)."""
    return (config.critique_source, config.critique_transform, config.sample_require, float(config.wrong_ratio)) != \
        ("current", "full", "", NATURAL)


def _is_heading(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > 120:
        return False
    if s.startswith("#") or (s.startswith("**") and s.rstrip(":").endswith("**")):
        return True
    return bool(_HEADING.match(s)) and (s.endswith(":") or s.endswith("**") or len(s) < 70)


def strip_solution(critique: str) -> str:
    """The critique without the solution it embeds; its verdict line kept.

    Cut: a section whose heading names a correct solution or a correction ("3. Correct Solution:", "Error and
    Correction") up to the next heading or the conclusion; a paragraph that opens by giving the solution ("The
    correct answer should be:", "Here is the correct ..."); every line with a ``\\boxed{}`` answer, and the lead-in
    line ending in ':' just before it. What stays is the check of the student's steps and ``Conclusion: ... [END]``.
    """
    from cft.data.samples import conclusion_line, parse_verdict

    text = critique or ""
    paragraphs = re.split(r"\n\s*\n", text)
    kept: list[str] = []
    in_solution = False
    for para in paragraphs:
        lines = para.split("\n")
        out: list[str] = []
        for line in lines:
            if _CONCLUSION.search(line):
                in_solution = False
                out.append(line)
                continue
            if _is_heading(line):
                in_solution = bool(_SOLUTION_HEADING.search(line))
                if in_solution:
                    continue
            if in_solution:
                continue
            if _SOLUTION_INTRO.search(line):
                in_solution = True
                continue
            if _BOXED in line:
                if out and out[-1].rstrip().endswith(":") and not _is_heading(out[-1]):
                    out.pop()  # "The correct answer should be:" before the boxed answer
                elif not out and kept and kept[-1].rstrip().endswith(":") and not _is_heading(kept[-1]):
                    kept.pop()
                continue
            out.append(line)
        body = "\n".join(out).strip("\n")
        if not body.strip():
            continue
        if _SOLUTION_LEAD.match(body) and not _CONCLUSION.search(body):
            continue
        kept.append(body)
    result = "\n\n".join(kept).strip()
    verdict = parse_verdict(critique)
    if verdict in ("right", "wrong") and parse_verdict(result) != verdict:
        result = (result + "\n\n" if result else "") + conclusion_line(verdict)
    return result


def verdict_only(critique: str) -> str:
    """``Conclusion: right [END]`` or ``Conclusion: wrong [END]``; empty when the critique states no verdict."""
    from cft.data.samples import conclusion_line, parse_verdict

    verdict = parse_verdict(critique)
    return conclusion_line(verdict) if verdict in ("right", "wrong") else ""


def teacher_critique(sample) -> str:
    """The teacher's critique: the original an annotator edited, else the critique as it is."""
    original = getattr(sample, "original_critique", None)
    return original if (original or "").strip() else (sample.critique or "")


def corrected(sample) -> bool:
    """Whether an annotator changed the teacher's critique (so teacher and current differ)."""
    original = getattr(sample, "original_critique", None)
    return bool((original or "").strip()) and original.strip() != (sample.critique or "").strip()


def target_of(sample, source: str = "current", transform: str = "full") -> str:
    """The CFT target of one sample under an ablation's source and transform ("" when it has none)."""
    text = teacher_critique(sample) if source == "teacher" else (sample.critique or "")
    if not text.strip():
        return ""
    if transform == "strip-solution":
        return strip_solution(text)
    if transform == "verdict-only":
        return verdict_only(text)
    return text


def _verdict(sample) -> str:
    from cft.data.samples import parse_verdict

    verdict = parse_verdict(sample.critique)
    return verdict if verdict in ("right", "wrong") else getattr(sample, "verdict", "unknown")


def resample_ratio(samples: list, ratio: float, seed: int) -> tuple[list, dict]:
    """``len(samples)`` samples of which ``round(ratio * n)`` have a wrong verdict, drawn seeded from each class:
    without replacement while a class has enough, then with replacement (counted as ``duplicated``)."""
    wrong = [s for s in samples if _verdict(s) == "wrong"]
    right = [s for s in samples if _verdict(s) == "right"]
    n = len(wrong) + len(right)
    n_wrong = round(ratio * n)
    need = {"wrong": (wrong, n_wrong), "right": (right, n - n_wrong)}
    rng = random.Random(seed)
    chosen, duplicated = [], 0
    for label, (pool, k) in need.items():
        if k and not pool:
            raise UserError(f"wrong_ratio={ratio}: the data has no {label}-verdict critique to draw {k} from")
        picked = rng.sample(pool, min(k, len(pool)))
        extra = k - len(picked)
        picked += [rng.choice(pool) for _ in range(extra)]
        duplicated += extra
        chosen += picked
    rng.shuffle(chosen)
    return chosen, {"wrong_share": round(n_wrong / n, 4) if n else 0.0, "duplicated": duplicated}


def apply(samples: list, *, source: str = "current", transform: str = "full", require: str = "",
          wrong_ratio: float = NATURAL, seed: int = 0) -> tuple[list[tuple[object, str]], dict]:
    """The (sample, target) pairs of a CFT run under an ablation, and counts for its stats.

    Counts: ``ablation_excluded`` (samples the requirement left out), ``critiques_changed`` (targets the transform
    altered), ``wrong_share`` (the share of wrong verdicts trained on), ``duplicated`` (resampled repeats)."""
    kept = [s for s in samples if (s.critique or "").strip()]
    before = len(kept)
    if require == "corrected":
        kept = [s for s in kept if corrected(s)]
    elif require == "verdict" or wrong_ratio != NATURAL:
        kept = [s for s in kept if _verdict(s) in ("right", "wrong")]
    stats: dict = {"ablation_excluded": before - len(kept)}
    if wrong_ratio != NATURAL and kept:
        kept, extra = resample_ratio(kept, wrong_ratio, seed)
        stats.update(extra)
    else:
        stats["wrong_share"] = round(sum(_verdict(s) == "wrong" for s in kept) / len(kept), 4) if kept else 0.0
    pairs, changed = [], 0
    for s in kept:
        target = target_of(s, source, transform)
        if not target.strip():
            continue
        base = teacher_critique(s) if source == "teacher" else s.critique
        changed += target != base
        pairs.append((s, target))
    stats["critiques_changed"] = changed
    return pairs, stats
