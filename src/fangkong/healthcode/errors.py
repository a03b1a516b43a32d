"""The health-code errors, each with a stable code (callers map codes to HTTP/exit codes).

scan.malformed          BadInput     not a token nor an ID number; a bad field
scan.token_forged       CheckFailed  the signature does not verify (altered, foreign key)
scan.token_expired      CheckFailed  older than the validity period plus clock skew
scan.token_not_yet_valid CheckFailed issued in the future beyond the clock skew
scan.token_replayed     Conflict     the same token already used for another scan
scan.event_conflict     Conflict     a client event id reused for a different scan
scan.venue_unknown      NotFound     no venue with this place code
scan.person_unknown     NotFound     the token or ID number names nobody in the registry
code.person_unknown     NotFound     (code lookup, CLI) no such person
fact.invalid            BadInput     a fact's kind, times or detail are wrong; a discharge
                                     without an open case
fact.event_conflict     Conflict     a client event id reused for another person's fact
correction.*            NotFound / Conflict / Forbidden
"""

from __future__ import annotations

from fangkong.errors import BadInput, CheckFailed, Conflict, NotFound, Problem


class ScanMalformed(BadInput):
    pass


class TokenForged(CheckFailed):
    pass


class TokenExpired(CheckFailed):
    pass


class TokenNotYetValid(CheckFailed):
    pass


class TokenReplayed(Conflict):
    pass


class ScanEventConflict(Conflict):
    pass


class VenueUnknown(NotFound):
    pass


class PersonUnknown(NotFound):
    pass


class FactInvalid(BadInput):
    pass


def malformed(zh: str, en: str) -> ScanMalformed:
    return ScanMalformed(Problem("scan.malformed", zh, en))
