"""The closed word classes that clause segmentation (monitor/rules/clauses.py) reads: relative pronouns,
auxiliaries, participles, verbs of saying, Persian verb forms. Lists, not a grammar: extend them here."""

from __future__ import annotations

import re

# English ---------------------------------------------------------------------------------------------
EN_RELATIVE = frozenset({"who", "whom", "whose", "which"})
EN_PERFECT = re.compile(
    r"\b(?:had|'d)(?: (?:already|previously|earlier|also|since|once|first|been|not))* "
    r"(?:been|[a-z]+ed|given|taken|held|sent|put|hanged|hung|handed|issued)\b"
)
EN_FINITE = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "may",
        "might",
        "shall",
        "should",
        "must",
        "did",
        "does",
        "do",
        "am",
        "says",
        "said",
        "say",
        "tells",
        "told",
        "reports",
        "reported",
    ]
)
EN_PARTICIPLES = frozenset(
    [
        "sentenced",
        "condemned",
        "convicted",
        "arrested",
        "detained",
        "held",
        "executed",
        "hanged",
        "transferred",
        "moved",
        "accused",
        "charged",
        "jailed",
        "imprisoned",
        "exiled",
    ]
)
# Participles that, followed by a preposition, are passive ("sentenced to", "convicted of"); "executed at
# least 419 people" is active, so executed/hanged/transferred/moved are not among them.
EN_PASSIVE_ONLY = frozenset(
    [
        "sentenced",
        "condemned",
        "convicted",
        "arrested",
        "detained",
        "held",
        "accused",
        "charged",
        "jailed",
        "imprisoned",
    ]
)
REDUCED_WORDS = 6  # "sentenced to death on drug charges": a reduced relative is short
EN_AUXILIARIES = frozenset(
    ["was", "were", "been", "be", "being", "is", "are", "am", "has", "have", "had", "get", "got", "gets", "getting"]
)
EN_COORDINATORS = frozenset(["and", "or", "but", "then"])
EN_ADVERBS = frozenset(
    ["also", "since", "then", "later", "already", "just", "recently", "subsequently", "not", "never", "reportedly"]
)
EN_NEWS_VERBS = frozenset(
    [
        "hanged",
        "hangs",
        "executed",
        "executes",
        "transferred",
        "moved",
        "died",
        "announced",
        "confirmed",
        "rejected",
        "upheld",
        "denied",
        "began",
        "started",
        "remain",
        "remains",
        "face",
        "faces",
    ]
)
EN_AFTER_PARTICIPLE = frozenset(["to", "in", "on", "by", "for", "at", "after", "over", "under", "since", "from"])
EN_DETERMINERS = frozenset(["a", "an", "who", "whose", "another"])  # "the …" is more often the subject
PARENTHETICAL_WORDS = 12

# Reported speech: a past perfect after one of these is backshift, not background.
EN_REPORTING = re.compile(
    r"\b(?:said|says|told|tells|reported|reports|announced|stated|added|confirmed|"
    r"according to|learned|wrote|informed)\b"
)

# Persian ---------------------------------------------------------------------------------------------
FA_RELATIVE = "که"
# A «که» after one of these words opens a complement ("said that …"), which carries the news.
FA_COMPLEMENT_BEFORE = frozenset(
    [
        "گفت",
        "گفته",
        "گفتند",
        "افزود",
        "افزوده",
        "افزودند",
        "کرد",
        "کرده",
        "کردند",
        "کردهاند",
        "کردند",
        "داد",
        "داده",
        "دادند",
        "دادهاند",
        "نوشت",
        "نوشته",
        "نوشتند",
        "است",
        "شد",
        "شده",
        "شدند",
        "بود",
        "بودند",
        "اند",
        "شود",
        "میشود",
        "میگوید",
        "میگویند",
        "گفتهاند",
        "گفته_است",
        "دانست",
        "دانسته",
        "خواست",
        "خواسته",
        "خواستند",
        "اعلام",
        "گزارش",
        "خبر",
        "تاکید",
        "تأکید",
        "مدعی",
        "معتقد",
        "آنجا",
        "آن",
        "این",
        "چنان",
        "چنین",
        "طوری",
        "نحوی",
        "حالی",
        "جایی",
        "زمانی",
        "وقتی",
        "آنکه",
        "اینکه",
        "هنگامی",
        "پس",
        "چرا",
        "بلکه",
        "تا",
    ]
)
# The verb that closes a Persian relative clause (verb-final): the clause ends after it.
FA_CLAUSE_VERBS = frozenset(
    [
        "است",
        "بود",
        "بودند",
        "اند",
        "بوده",
        "شد",
        "شدند",
        "شده",
        "کرد",
        "کردند",
        "کرده",
        "داد",
        "دادند",
        "داده",
        "دارد",
        "دارند",
        "داشت",
        "داشتند",
        "بودهاند",
        "شدهاند",
        "کردهاند",
        "دادهاند",
        "میشود",
        "میشوند",
        "میکند",
        "میکنند",
    ]
)
FA_AUXILIARIES = frozenset(["است", "بود", "بودند", "اند", "باشد", "باشند"])
FA_PERFECT = re.compile(r"(?:شده|کرده|بوده|داده|گرفته|رفته|آمده|گشته|گردیده) (?:بود|بودند)(?![\w])")
