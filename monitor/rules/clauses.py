"""Clauses and background: which stretches of a sentence tell the news, and which recall the past.

Real reporting wraps old facts around new ones: "Pakhshan Azizi, who was sentenced to death in July
2024, was transferred to Evin"; «… که پیشتر به اعدام محکوم شده بود، به زندان … منتقل شد». The
news here is the transfer; the death sentence is background. A rule written with ``main:`` (or
``background: ignore``) only sees the foreground, so the background clause cannot fire it.

Shallow and deliberate, on the normalised text (lower case, one space between words, punctuation
kept): no parser, no model. What counts as background:

- a non-restrictive relative clause (", who …", ", which …", "whose …", Persian «که …» after a noun,
  not after a verb of saying such as «گفت که»), up to the next comma or the end of its verb;
- a clause in the past perfect ("had been sentenced", «محکوم شده بود»), comma to comma;
- a parenthetical participle phrase between commas with no finite verb (", a teacher sentenced to
  death in 2022,").

Clauses are cut at , ، ; ؛ : ( ) and at the start of a relative clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from monitor.rules.clause_words import (
    EN_ADVERBS,
    EN_AFTER_PARTICIPLE,
    EN_AUXILIARIES,
    EN_COORDINATORS,
    EN_DETERMINERS,
    EN_FINITE,
    EN_NEWS_VERBS,
    EN_PARTICIPLES,
    EN_PASSIVE_ONLY,
    EN_PERFECT,
    EN_RELATIVE,
    EN_REPORTING,
    FA_AUXILIARIES,
    FA_CLAUSE_VERBS,
    FA_COMPLEMENT_BEFORE,
    FA_PERFECT,
    FA_RELATIVE,
    PARENTHETICAL_WORDS,
    REDUCED_WORDS,
)

Span = tuple[int, int]

_CLAUSE_MARKS = re.compile(r"[,،;؛:()]")
_WORD = re.compile(r"\S+")



def background_spans(text: str, window: Span) -> list[Span]:
    """Background stretches inside one sentence ``window`` of normalised ``text``."""
    start, end = window
    sentence = text[start:end]
    relatives = list(_relative_clauses(sentence))
    found = list(relatives)
    pieces = _clauses(sentence, relatives)
    for index, (low, high) in enumerate(pieces):
        piece = sentence[low:high]
        perfect = EN_PERFECT.search(piece)
        # "… said the court had rejected …": the past perfect of reported speech is news, not background
        if (
            (perfect and not EN_REPORTING.search(sentence, 0, low + perfect.start()))
            or FA_PERFECT.search(piece)
            or 0 < index < len(pieces) - 1
            and _parenthetical(piece)
        ):
            found.append((low, high))
    found += _reduced_relatives(sentence)
    return _merge([(start + low, start + high) for low, high in found if high > low])


def clause_windows(text: str, window: Span) -> list[Span]:
    """The clauses of one sentence: cut at clause punctuation and around relative clauses."""
    start, end = window
    sentence = text[start:end]
    pieces = _clauses(sentence, list(_relative_clauses(sentence)))
    return [(start + low, start + high) for low, high in pieces] or [window]


# ------------------------------------------------------------------------------------------ internals
def _clauses(sentence: str, relatives: list[Span]) -> list[Span]:
    cuts = sorted(
        {
            0,
            len(sentence),
            *(m.start() for m in _CLAUSE_MARKS.finditer(sentence)),
            *(low for low, _ in relatives),
            *(high for _, high in relatives),
        }
    )
    out: list[Span] = []
    for low, high in zip(cuts, cuts[1:], strict=False):
        while low < high and sentence[low] in " ,،;؛:()":
            low += 1
        while high > low and sentence[high - 1] == " ":
            high -= 1
        if high > low:
            out.append((low, high))
    return out


def _parenthetical(piece: str) -> bool:
    """ ", a Kurdish teacher sentenced to death in 2022," : a participle, no finite verb."""
    words = piece.strip(" ,،;؛:().").split()
    if len(words) < 2 or any(word in EN_FINITE for word in words):
        return False
    passive = any(
        word in EN_PARTICIPLES and (index + 1 == len(words) or words[index + 1] in EN_AFTER_PARTICIPLE)
        for index, word in enumerate(words)
    )
    return (
        passive
        and len(words) <= PARENTHETICAL_WORDS
        and (words[0] in EN_DETERMINERS or words[0] in EN_PARTICIPLES or words[1] in EN_PARTICIPLES)
    )


def _reduced_relatives(sentence: str) -> list[Span]:
    """ "four prisoners sentenced to qisas for murder have been transferred": a participle with no
    auxiliary before it, in a sentence whose verb is elsewhere, describes its noun (background)."""
    words = [(m.start(), m.end(), m.group().strip(",;:()\"'“”")) for m in _WORD.finditer(sentence)]
    bare = [word for _, _, word in words]
    out: list[Span] = []
    for index, word in enumerate(bare):
        if word not in EN_PASSIVE_ONLY or index == 0:
            continue
        if index + 1 >= len(bare) or bare[index + 1] not in EN_AFTER_PARTICIPLE:
            continue
        back = index - 1
        while back > 0 and (bare[back] in EN_ADVERBS or bare[back].endswith("ly")):
            back -= 1
        if bare[back] in EN_AUXILIARIES or bare[back] in EN_COORDINATORS:
            continue
        others = bare[:index] + bare[index + 1 :]
        if not any(other in EN_FINITE or other in EN_NEWS_VERBS for other in others):
            continue  # a headline-like sentence: the participle is its verb
        end = _clause_end(sentence, words[index][1])
        last = min(index + REDUCED_WORDS, len(words) - 1)
        for following in range(index + 1, last + 1):
            if bare[following] in EN_FINITE or bare[following] in EN_AUXILIARIES:
                last = following - 1  # the main clause's verb starts again
                break
        out.append((words[index][0], min(end, words[last][1])))
    return out


def _relative_clauses(sentence: str) -> Iterator[Span]:
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(sentence)]
    for index, (low, _high, word) in enumerate(words):
        bare = word.strip("\"'“”«»")
        if bare in EN_RELATIVE:
            before = sentence[:low].rstrip()
            restrictive = not before.endswith((",", "(")) and bare != "whose"
            end = _en_clause_end(sentence, words, index)
            if restrictive and not EN_PERFECT.search(sentence[low:end]):
                continue
            yield low, end
        elif bare == FA_RELATIVE and index > 0:
            previous = words[index - 1][2].strip(',،"«»')
            prefix = words[index - 2][2] if index > 1 else ""
            verb = previous.startswith(("می", "نمی")) or prefix in ("می", "نمی")  # «نمی‌گذرد که …»
            if previous in FA_COMPLEMENT_BEFORE or previous.endswith(("ند", "ید", "اند")) or verb:
                continue
            yield low, _fa_clause_end(sentence, words, index)


def _en_clause_end(sentence: str, words: list[tuple[int, int, str]], index: int) -> int:
    """An English relative clause ends at a comma, or where a second finite verb starts the main
    clause again ("the man who had been sentenced in 2022 | was executed")."""
    limit = _clause_end(sentence, words[index][1])
    seen_verb = previous_is_auxiliary = False
    for low, _, word in words[index + 1 :]:
        if low >= limit:
            break
        if word in EN_FINITE:
            if seen_verb and not previous_is_auxiliary:
                return low
            seen_verb = True
            previous_is_auxiliary = True
        else:
            previous_is_auxiliary = False
    return limit


def _clause_end(sentence: str, after: int) -> int:
    mark = _CLAUSE_MARKS.search(sentence, after)
    return mark.start() if mark else len(sentence)


def _fa_clause_end(sentence: str, words: list[tuple[int, int, str]], index: int) -> int:
    """A Persian relative clause ends at its verb (or at a comma, whichever comes first)."""
    limit = _clause_end(sentence, words[index][1])
    for low, high, word in words[index + 1 :]:
        if low >= limit:
            break
        bare = word.strip(',،."«»')
        if bare in FA_CLAUSE_VERBS:
            return _with_auxiliary(sentence, high, limit)
    return limit


def _with_auxiliary(sentence: str, end: int, limit: int) -> int:
    """«محکوم شده بود»: a participle's auxiliary belongs to the clause too."""
    following = _WORD.match(sentence, end + 1) if end + 1 < limit else None
    if following and following.group().strip(",،.") in FA_AUXILIARIES and following.start() < limit:
        return following.end()
    return end


def _merge(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for low, high in sorted(spans):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out
