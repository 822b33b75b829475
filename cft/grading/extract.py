"""Finding the final answer in a model's output (pure regex: fast, never hangs, safe in any process).

Order, first that applies:
1. "final answer is X" written after the last ``\\boxed{}`` (a model that boxes a step and then states its
   answer has answered the statement);
2. the last run of ``\\boxed{}`` (boxes close together or linked by "and", "or" or a comma, math-verify's
   rule): one answer set when the reference is a list, set or tuple (``\\boxed{(2, 2)} \\quad\\text{and}\\quad
   \\boxed{(6, 2)}`` is ``(2, 2), (6, 2)``), the run's last box when it is a single value;
3. "the answer is X" / "answer: X", then GSM8K's ``#### X``;
4. an output that is itself a bare answer (no prose) is taken whole;
5. otherwise the last math expression: a ``$...$``/``\\(...\\)``/``\\[...\\]`` span, an environment, a
   LaTeX expression outside delimiters (``\\frac{15}{2}``, ``3\\sqrt{2}``), a tuple, or a number, whichever
   ends last. A LaTeX expression is never cut apart.
"""

from __future__ import annotations

import re

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*")
# "final answer is 12", "Final Answer: 12", and the "**Final Answer**" heading.
_FINAL_RE = re.compile(r"final\s+answer\s*(?:is\s*:?|:|\*\*\s*:?)\s*", re.IGNORECASE)
_ANSWER_IS_RE = re.compile(r"answer\s*(?:is\s*:?|:)\s*", re.IGNORECASE)
_HASHES_RE = re.compile(r"####\s*")

_SEPARATOR_RE = re.compile(r"\b(?:and|or)\b|,|;")

# A model that went through JSON twice writes \\frac for \frac; every backslash run is then even.
_BACKSLASH_RUN_RE = re.compile(r"\\+")
_DOUBLED_CMD_RE = re.compile(r"\\\\[A-Za-z]")

# A number as people write it: sign, thousands separators, decimals or a 1-2 digit decimal comma, an optional
# simple fraction or mixed number ("3 1/2"), an optional percent. Not glued to a word on the left: "AZYUK2A"
# holds no answer.
_NUMBER_RE = re.compile(
    r"(?<![A-Za-z\d.])-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+,\d{1,2}(?![\d,])|\d+)(?:\.\d+)?"
    r"(?:\s+\d+\s*/\s*\d+(?![\d/])|\s*/\s*\d+)?"
    r"|(?<![\w.])-?\.\d+"
)
_PERCENT_RE = re.compile(r"\s*(?:\\?%|percent(?:age)?\b|pct\b)", re.IGNORECASE)

_SPAN_RES = [
    re.compile(r"\$\$(.+?)\$\$", re.DOTALL),
    re.compile(r"\\\[(.+?)\\\]", re.DOTALL),
    re.compile(r"\\\((.+?)\\\)"),
    # Inline $...$ on one line; a "$" after a digit or before one is money ("$5 and $6"), not math.
    re.compile(r"(?<![\\\d$])\$(?!\$)((?:\\\$|[^$\n])+?)(?<!\\)\$(?![\d$])"),
]
_ENV_RE = re.compile(r"\\begin\{(\w+\*?)\}(.*?)\\end\{\1\}", re.DOTALL)
_LONE_VARIABLE_RE = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?[.,;]?$")
# Environments of derivations, whose answer is the end of their last line ("&= 900\pi").
_DERIVATION_ENVS = {"align", "align*", "aligned", "equation", "equation*", "eqnarray", "eqnarray*", "gather",
                    "gather*", "multline", "multline*", "split"}
_CMD_RE = re.compile(r"\\([A-Za-z]+)")
# Commands that do not make prose into math ("\\quad", "\\text{...}"): a LaTeX run must hold another one.
_PROSE_CMDS = {"text", "textbf", "textit", "textrm", "emph", "mbox", "quad", "qquad", "item", "section", "label",
               "ref", "cite", "begin", "end", "newline", "hline", "noindent", "left", "right", "boxed", "fbox"}
_TUPLE_RE = re.compile(r"[(\[]\s*-?[\w.\\{}^/+-]+(?:\s*,\s*-?[\w.\\{}^/+-]+)+\s*[)\]]")

# Words that are not prose in a bare answer.
_ANSWER_WORDS = {"and", "or", "pct", "percent", "percentage"}
# A word of prose: three letters or more ("xy" in "2xy + 3" is a product), or a common two-letter word.
# Capitals alone ("URV", "ABCDEFGH") name points, not words.
_PROSE_RE = re.compile(
    r"(?<![\\A-Za-z])(?:(?=[A-Za-z]*[a-z])[A-Za-z]{3,}|(?i:so|is|it|we|as|be|to|of|at|by|on|an|if|do|no)(?![A-Za-z]))")
_TEXT_GROUP_RE = re.compile(r"\\(?:text\w*|mbox|mathrm|operatorname|begin|end)\s*\{[^{}]*\}|\\[A-Za-z]+")


def undouble_backslashes(text: str) -> str:
    """``\\\\frac{1}{2}`` back to ``\\frac{1}{2}`` when the whole text is doubly escaped, else unchanged."""
    if "\\\\" not in text or not _DOUBLED_CMD_RE.search(text):
        return text
    if any(len(run) % 2 for run in _BACKSLASH_RUN_RE.findall(text)):
        return text  # a single \ somewhere: genuine LaTeX whose \\ are line breaks
    return _BACKSLASH_RUN_RE.sub(lambda m: "\\" * (len(m.group(0)) // 2), text)


def braced(text: str, open_at: int) -> tuple[str, int] | None:
    """The content of the ``{...}`` group starting at ``open_at`` (nested braces counted), and its end."""
    depth, i = 0, open_at
    while i < len(text):
        c = text[i]
        if c == "\\":  # \{ and \} are literal braces, not grouping: skip the escaped character
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:i], i + 1
        i += 1
    return None


def _boxes(text: str) -> list[tuple[str, int, int]]:
    """(content, start, end) of every ``\\boxed{...}`` / ``\\fbox{...}`` (also the brace-less ``\\boxed 5``)."""
    found = []
    for m in _BOX_RE.finditer(text or ""):
        pos = m.end()
        if pos < len(text) and text[pos] == "{":
            got = braced(text, pos)
            if got is not None:
                found.append((got[0].strip(), m.start(), got[1]))
        else:
            word = re.match(r"[^\s$]+", text[pos:])
            if word and m.group(0).endswith(" "):
                found.append((word.group(0).rstrip(".,"), m.start(), pos + word.end()))
    return found


def all_boxed(text: str) -> list[str]:
    """Every ``\\boxed{...}`` / ``\\fbox{...}`` content in order (also the brace-less ``\\boxed 5``)."""
    return [content for content, _, _ in _boxes(text or "")]


def last_boxed(text: str | None) -> str | None:
    boxes = all_boxed(text or "")
    return boxes[-1] if boxes else None


def _box_run(boxes: list[tuple[str, int, int]], text: str) -> list[str]:
    """The contents of the last run of boxes that form one answer, in order.

    The rule is latex2sympy2_extended's (``extract_boxed_content``, which math-verify uses), so both read a
    multi-box answer alike: walking back from the last box, an earlier box joins when less than 10
    characters separate them, or less than 70 with "and", "or", a comma or a semicolon between and a
    different content; a repeated content is kept once. (Re-implemented because importing that module
    imports sympy; ``tests/test_grading_classes.py`` checks the two agree.)"""
    run = [boxes[-1][0]]
    start = boxes[-1][1]
    for content, box_start, box_end in reversed(boxes[:-1]):
        gap = text[box_end:start]
        if not (len(gap) < 10 or (content != run[0] and len(gap) < 70 and _SEPARATOR_RE.search(gap))):
            break
        if content != run[0]:
            run.insert(0, content)
        start = box_start
    return [content for content in run if content]


def top_level_items(s: str) -> list[str]:
    """``s`` split at the commas and semicolons that no bracket encloses: "(1, 2), 3" -> ["(1, 2)", " 3"]."""
    items, depth, cur = [], 0, ""
    for c in s:
        depth += c in "([{"
        depth -= c in ")]}"
        if c in ",;" and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += c
    return items + [cur]


_TUPLE_GOLD_RE = re.compile(r"^\s*(?:\\left)?\s*\((.*)(?:\\right)?\s*\)\s*$", re.DOTALL)


def _wants_several(gold: str, run: list[str]) -> bool:
    """Whether a run of boxes answers ``gold`` as a whole: the reference is a list or set, or a tuple whose
    entries the boxes hold one each. A single-valued reference is answered by the last box, as MATH's own
    answers are taken (its solutions box earlier candidates close before the answer, 12 of 5,000)."""
    ref = re.sub(r"(?<!\\)\$", "", reference_answer(gold) or "").strip()
    if ref.startswith(("\\{", "{")) or len(top_level_items(ref)) > 1 or re.search(r"\band\b|\\text\{\s*and\s*\}", ref):
        return True
    tup = _TUPLE_GOLD_RE.match(ref)
    return bool(tup) and len(top_level_items(tup.group(1))) == len(run) > 1 and \
        not any(len(top_level_items(box)) > 1 or _TUPLE_GOLD_RE.match(box) for box in run)


def _join(parts: list[str]) -> str:
    # Each part is one element: a "1,2" part stays {1, 2} and "(2, 2)" stays a tuple inside the set.
    return ", ".join(parts)


def _strip_wrappers(answer: str) -> str:
    answer = answer.strip()
    answer = re.sub(r"^[*\"'`]+|[*\"'`]+$", "", answer).strip()  # markdown bold, quotes around the answer
    answer = answer.rstrip(" .;,")
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if answer.startswith(left) and answer.endswith(right) and len(answer) > len(left) + len(right) - 1:
            inner = answer[len(left):len(answer) - len(right)].strip()
            if left != "$" or "$" not in inner.replace("\\$", ""):
                answer = inner  # "$22" keeps its meaning without "$"; "$x+1$" is math mode
                break
    return answer.strip()


def _spans(text: str) -> list[tuple[int, int, str]]:
    found = []
    for rx in _SPAN_RES:
        for m in rx.finditer(text):
            found.append((m.start(), m.end(), m.group(1).strip()))
    return found


def _after_anchor(text: str, pos: int, prose_ok: bool = True) -> str | None:
    """The answer written right after "answer is" / "####": a math span (or several joined), else the math in
    the sentence, else (if ``prose_ok``) the sentence itself ("The answer is Monday")."""
    rest = text[pos:]
    lines = rest.split("\n")
    line = lines[0] if lines[0].strip() else next((ln for ln in lines[1:] if ln.strip()), "")
    head = re.sub(r"^(?:[\s*\"'`]|\\\")+", "", line)
    spans = sorted((s for s in _spans(head) if s[2]), key=lambda s: s[0])
    if spans and spans[0][0] == 0:
        run, end = [spans[0][2]], spans[0][1]
        for start, stop, content in spans[1:]:
            if start < end:
                continue
            if not re.fullmatch(r"[\s\"'*]*(?:,|and|or|,\s*and)?[\s\"'*]*", head[end:start]):
                break
            run.append(content)
            end = stop
        answer = _join([_result_of(part) for part in run])
        pct = _PERCENT_RE.match(head, end)
        return answer + "\\%" if pct and not answer.endswith("%") else answer
    # Stop at the end of the sentence ("The answer is 12. Next ...") but not inside "3.5".
    sentence = re.split(r"\.(?:\s|$)|\s+I hope\b", head, maxsplit=1)[0]
    answer = _strip_wrappers(sentence)
    if answer and not _is_bare(answer):  # "The volume of $ABCD$ is 120": the last math in the sentence
        answer = _last_math(answer) or (answer if prose_ok else None)
    return answer or None


def _is_bare(text: str) -> bool:
    """Whether ``text`` is an answer on its own ("1, 3, 2", "x \\in [0.5, \\infty)"), not prose around one."""
    if "\n" in text.strip() or len(text) > 300:
        return False
    words = [w for w in _PROSE_RE.findall(_TEXT_GROUP_RE.sub(" ", text)) if w.lower() not in _ANSWER_WORDS]
    # One word alone ("Even", "$odd$") is an answer too.
    return not words or (len(words) == 1 and not re.search(r"\s", _strip_wrappers(text)))


def _top_level_equals(s: str) -> list[int]:
    """Positions of the "=" signs outside brackets and braces ("<=", "!=" and "\=" are not equals signs)."""
    depth, found = 0, []
    for i, c in enumerate(s):
        depth += c in "([{"
        depth -= c in ")]}"
        if c == "=" and depth == 0 and not (i and s[i - 1] in "<>!\\"):
            found.append(i)
    return found


def _result_of(expr: str) -> str:
    """The result a derivation ends on: "5 \times 6 \times 4 = 120" -> "120", "a = b = c" -> "c". An equation
    with unknowns on the left ("x - 2y + z - 1 = 0", "x = 5") is itself the answer and stays whole."""
    env = _ENV_RE.fullmatch(expr.strip())
    if env and env.group(1) in _DERIVATION_ENVS:
        rows = [r for r in re.split(r"\\\\(?:\[[^\]]*\])?", env.group(2)) if r.strip()]
        expr = rows[-1] if rows else ""
    expr = re.sub(r"^\s*&|&\s*(?==)|(?<==)\s*&", "", expr)  # alignment marks, not matrix cells
    expr = re.sub(r"(?:\\\\|[\s.,;])+$", "", expr).strip()
    cuts = _top_level_equals(expr)
    if len(cuts) >= 2 or cuts and not re.search(r"[A-Za-z]", _TEXT_GROUP_RE.sub(" ", expr[:cuts[0]])):
        expr = expr[cuts[-1] + 1:].strip()
    return expr


def _last_math(text: str) -> str | None:
    """The last math expression in prose, whole: a span, an environment, a fraction, a tuple or a number."""
    candidates = []  # (end, -start, answer)
    for start, end, content in _spans(text):
        # A lone variable ("the possible values of $m.$") is what the answer is about, not the answer.
        if content and not _is_prose(content) and not _LONE_VARIABLE_RE.match(content):
            pct = _PERCENT_RE.match(text, end)
            candidates.append((end, -start, _result_of(content) + ("\\%" if pct else "")))
    for m in _ENV_RE.finditer(text):
        answer = _result_of(m.group(0)) if m.group(1) in _DERIVATION_ENVS else m.group(0)
        if answer:
            candidates.append((m.end(), -m.start(), answer))
    candidates += [(end, -start, run) for start, end, run in _latex_runs(text)]
    for m in _TUPLE_RE.finditer(text):
        candidates.append((m.end(), -m.start(), m.group(0)))
    for m in _NUMBER_RE.finditer(text):
        pct = _PERCENT_RE.match(text, m.end())
        answer = re.sub(r"\s*/\s*", "/", m.group(0))
        if re.fullmatch(r"-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?", answer):
            answer = answer.replace(",", "")  # "1,500" pears: a number, not the pair (1, 500)
        candidates.append((m.end(), -m.start(), answer + ("\\%" if pct else "")))
    if not candidates:
        return None
    return max(candidates)[2]


def _latex_run_end(text: str, i: int) -> int:
    """Where the math that starts at ``i`` ends: commands, braced groups, digits, one-letter variables and
    operators, up to the first word of prose, comma or relation."""
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1].isalpha():
            i = _CMD_RE.match(text, i).end()
        elif c == "{":
            got = braced(text, i)
            if got is None:
                break
            i = got[1]
        elif c.isdigit() or c in " .+-*/^_()[]|!":
            i += 1
        elif c.isalpha() and not (i + 1 < n and text[i + 1].isalpha()) and not (i and text[i - 1].isalpha()):
            i += 1  # a one-letter variable; a word is prose
        else:
            break
    return i


def _latex_runs(text: str) -> list[tuple[int, int, str]]:
    """(start, end, run) of the LaTeX expressions written outside math delimiters: ``3\\sqrt{2}``, ``\\dfrac34``,
    ``2\\pi``, ``\\frac{15}{2}``. Without them the last-number fallback would answer 2 for each."""
    runs, pos = [], 0
    for m in _CMD_RE.finditer(text):
        if m.start() < pos or m.group(1) in _PROSE_CMDS:
            continue
        start = m.start()
        while start > 0 and (text[start - 1].isdigit() or text[start - 1] in ".-(^_"):  # "3\sqrt{2}", "52^\circ"
            start -= 1
        end = _latex_run_end(text, m.start())
        run = text[start:end].rstrip(" .+-*/^_([|")
        while True:  # a bracket closed outside the run: "(about \sqrt{2})", "\left( 3, \frac{\pi}{2} \right)"
            trimmed = re.sub(r"\s*\\(?:right|left)$", "", run)
            if (trimmed.count("(") < trimmed.count(")") and trimmed.endswith(")")
                    or trimmed.count("[") < trimmed.count("]") and trimmed.endswith("]")):
                trimmed = trimmed[:-1].rstrip()
            if trimmed == run:
                break
            run = trimmed
        if run:
            runs.append((start, start + len(run), run))
        pos = end
    return runs


def _is_prose(content: str) -> bool:
    """Two or more words in a span: "$5 for apples and $" is money in prose, "$Even$" an answer."""
    words = _PROSE_RE.findall(_TEXT_GROUP_RE.sub(" ", content))
    return sum(w.lower() not in _ANSWER_WORDS for w in words) >= 2


def extract_answer(text: str | None, gold: str | None = None) -> str | None:
    """The model's final answer, or None when nothing answer-like is in ``text``.

    ``gold``, the reference, decides how a run of several boxes is read: as one answer (a list, set or
    tuple reference) or by its last box (a single value). Without it, the whole run is the answer."""
    if not text or not text.strip():
        return None
    text = undouble_backslashes(text)
    boxes = _boxes(text)
    finals = list(_FINAL_RE.finditer(text))
    if finals and (not boxes or finals[-1].start() >= boxes[-1][2]):
        # After a box, only math counts: "The final answer is positive, because ..." does not replace it.
        answer = _after_anchor(text, finals[-1].end(), prose_ok=not boxes)
        if answer:
            return answer
    if boxes:
        run = _box_run(boxes, text)
        if len(run) > 1 and gold is not None and not _wants_several(gold, run):
            return run[-1]
        if run:
            return _join(run)
    for rx in (_ANSWER_IS_RE, _HASHES_RE):
        matches = list(rx.finditer(text))
        if matches:
            answer = _after_anchor(text, matches[-1].end())
            if answer:
                return answer
    if _is_bare(text):
        answer = _strip_wrappers(text)
        if answer:
            return answer
    return _last_math(text)


def reference_answer(gold: str | None) -> str | None:
    """A benchmark reference as given: a bare answer (returned as is), or a worked solution whose boxed answer
    (or "final answer is X") is the reference, as in MATH's ``solution`` field."""
    if gold is None:
        return None
    text = undouble_backslashes(str(gold))
    if _BOX_RE.search(text) or _FINAL_RE.search(text):
        return extract_answer(text) or text.strip()
    return text.strip()
