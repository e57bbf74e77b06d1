"""Attack type and target type from phrase rules onto the controlled vocabularies.

Rules are tried in order and the first that matches (not negated: "no shots fired", "no
firing") wins, so the more specific kind comes first: a foiled plot before the bomb it would
have used, a suicide car bomb before a car bomb, an IED before the shooting that followed it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.intake.draft import Span
from silkguard.intake.text import ascii_lower, is_negated, literal_prefixes, sentence_bounds

__all__ = ["ATTACK_RULES", "TARGET_RULES", "find_attack_type", "find_target_type"]

E = TypeVar("E")


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    prefixes: tuple[str, ...] | None

    def finditer(self, text: str, lowered: str) -> Iterator[re.Match[str]]:
        if self.prefixes is not None and not any(p in lowered for p in self.prefixes):
            return iter(())
        return self.pattern.finditer(text)


def _rules(rules: list[tuple[E, re.Pattern[str]]]) -> list[tuple[E, _Rule]]:
    return [(value, _Rule(p, literal_prefixes(p.pattern))) for value, p in rules]


_INFRA = (
    r"(?:pylon|transmission line|transmission tower|tower|pipeline|railway track|railway line|"
    r"track|bridge|gas line)"
)

ATTACK_RULES: list[tuple[AttackType, re.Pattern[str]]] = [
    (
        AttackType.PLOT_FOILED,
        _rx(
            r"\bfoil(?:ed|ing|s)?\b|\bthwart(?:ed|ing)?\b|\baverted\b|\bplanned attack\b|"
            r"\bplanning (?:an |to )?attacks?\b|\bmeant for an attack\b|"
            r"\bbefore (?:they|it) could\b|\bwere planning\b"
        ),
    ),
    (AttackType.HIJACKING, _rx(r"\bhijack(?:ed|ing|ers?)?\b")),
    (
        AttackType.HOSTAGE_BARRICADE,
        _rx(
            r"\b(?:held|holding|took|taken) (?:\w+ )?hostages?\b.{0,80}"
            r"\b(?:holed up|barricad|siege)"
        ),
    ),
    (
        AttackType.KIDNAPPING,
        _rx(
            r"\bkidnap(?:ped|ping|pers?)?\b|\babduct(?:ed|ion|ing|ors?)?\b|\btaken hostage\b|"
            r"\bko (?:\w+ )?(?:utha )?(?:kar )?le gaye\b|\buttha (?:kar )?le gaye\b|\bagwa\b|"
            r"\bighwa\b|\bbandi bana"
        ),
    ),
    (
        AttackType.SUICIDE_VBIED,
        _rx(
            r"\bsuicide\W+(?:vbied|car|vehicle|truck|bomber rammed|car bomb)|"
            r"\bvbied\b.{0,40}\bsuicide\b|\brammed (?:an? |his )?(?:explosive|car|vehicle)"
        ),
    ),
    (
        AttackType.SUICIDE_BOMBING,
        _rx(
            r"\bsuicide (?:bomb(?:er|ing)?|attack(?:er)?|blast|vest|jacket)\b|"
            r"\bblew (?:himself|herself) up\b|\bfidayee?n?\b|\bkhudkush\b"
        ),
    ),
    (
        AttackType.VBIED,
        _rx(
            r"\bvbied\b|\bcar bomb\b|\bvehicle[- ]borne\b|\bexplosive[- ]laden "
            r"(?:car|vehicle|truck|van)\b|\b(?:car|vehicle|truck) (?:packed|rigged|fitted|laden) "
            r"with (?:\w+ )?explosives?"
        ),
    ),
    (
        AttackType.ARMED_ASSAULT,
        _rx(
            r"\bstorm(?:ed|ing)\b|\bcomplex (?:attack|attk|assault)\b|\boverr[au]n\b|"
            r"\bexchange of fire\b|\bgun ?battle\b|"
            r"\brepulsed\b|\binfiltrat\w*|\bautomatic weapons\b|\bheavy weapons\b|"
            r"\battacked (?:a|an|the|their|his) (?:\w+ )?(?:check ?post|post|camp|base|station|"
            r"checkpoint|fort|compound)\b|"
            r"\bsiege\b|\bcordoned off .{0,30} attackers\b"
        ),
    ),
    (
        AttackType.IED,
        _rx(
            r"\bieds?\b|\brc-?ieds?\b|\bpbieds?\b|\broadside (?:bomb|blast|device|explosion)\b|"
            r"\bimprovised explosive\b|\blow[- ]intensity (?:device|bomb|blast|explosion)\b|"
            r"\bcracker (?:blast|bomb)\b|"
            r"\bland ?mines?\b|\bremote[- ]control(?:led)? (?:bomb|device|blast|ied)\b|"
            r"\bplanted (?:a |an )?(?:bomb|explosive|device)s?\b|\brigged with explosives\b|"
            r"\b(?:bomb|explosives?|device) (?:was |were |had been )?planted\b|"
            r"\bmagnetic (?:bomb|device)\b|\bsticky bomb\b|\bcommand wire\b|\bpressure plate\b|"
            r"\bexplosive device\b|\bhit (?:a|an) (?:roadside )?(?:bomb|mine|ied)\b|"
            rf"\b(?:blast|explosion|blew up|bombed|dhamaka|dhamake)\b.{{0,60}}\b{_INFRA}\b|"
            rf"\b{_INFRA}\b.{{0,30}}\b(?:blown up|blast|explosion|dhamaka)\b"
        ),
    ),
    (AttackType.GRENADE, _rx(r"\bgrenades?\b|\bdasti bam\b")),
    (
        AttackType.ROCKET,
        _rx(
            r"\brockets?\b|\bmortars?\b|\brpg\b|\bindirect fire\b|\bidf\b|"
            r"\b(?:107|122|120|82|81|60) ?mm\b|\bshelling\b"
        ),
    ),
    (
        AttackType.BOMBING,
        _rx(
            r"\bblasts?\b|\bexplosions?\b|\bexploded\b|\bbomb(?:s|ing|ed)?\b|\bquadcopters?\b|"
            r"\bblew up\b|\bblown up\b|\bblow up\b|"
            r"\bdrone (?:attack|strike)s?\b|\bexplosives? "
            r"went off\b|\bwent off\b|\bdhamak[ae]\b|\bdetonat\w*"
        ),
    ),
    (
        AttackType.SABOTAGE,
        _rx(
            r"\bset (?:on )?fire\b|\bset ablaze\b|\btorch(?:ed|ing)\b|\barson\b|\bsabotage\b|"
            r"\bjala (?:di|diye|din|diya)\b|\bag laga\w*|\baag laga\w*|\bburnt (?:down )?the\b|"
            r"\bdamaged (?:a|the) (?:section of (?:a|the) )?(?:\w+ )?" + _INFRA
        ),
    ),
    (
        AttackType.ASSASSINATION,
        _rx(r"\btarget(?:ed)? killing\b|\bassassinat\w*|\bhit squad\b"),
    ),
    (
        AttackType.SHOOTING,
        _rx(
            r"\bshot\b(?! down)|\bshoot\w*|\bfiring\b|\bopened (?:\w+ ){0,2}fire\b|"
            r"\bfired (?:at|on|upon|shots)\b|\bsmall arms fire\b|\bsaf\b|"
            r"\bgunm[ae]n\b|\bgunfire\b|\bsmall[- ]arms\b|\bsniper\b|\bambush(?:ed)?\b|\bgoli\w*|"
            r"\bfire ki\w*|\bGSW\b|\bgunshot\b|\bbullet[- ]riddled\b|\bbullets?\b"
        ),
    ),
    (
        # security forces' engagements come after every attack word: "a clearance operation
        # was launched" after a roadside bomb does not make it an armed assault
        AttackType.ARMED_ASSAULT,
        _rx(
            r"\b(?:intelligence[- ]based|search|clearance|security|combing) operation\b|"
            r"\bencounter\b|\bclash(?:es|ed)?\b|\bibo\b"
        ),
    ),
    (
        AttackType.OTHER,
        _rx(
            r"\bknife\b|\bstabb?(?:ed|ing)\b|\bchaku\b|\bchhuri\b|\bstones?\b|\bstone[- ]pelting\b|"
            r"\bpathrao\b|\bpelted\b|\bacid (?:attack|thrown)\b|\b(?:threw|thrown|hurled) acid\b|"
            r"\baxe\b"
        ),
    ),
    (
        AttackType.UNARMED_ASSAULT,
        _rx(r"\bbeat(?:en|ing)? (?:up|him|them)\b|\bassaulted\b|\bmaar ?peet\b|\bthappar\b"),
    ),
]

TARGET_RULES: list[tuple[TargetType, re.Pattern[str]]] = [
    (TargetType.CONSULATE, _rx(r"\bconsulate\b|\bembassy\b|\bhigh commission\b")),
    (TargetType.HOTEL, _rx(r"\bhotel\b|\bguest ?house\b")),
    (TargetType.AIRPORT, _rx(r"\bairport (?:terminal|building|security|perimeter)\b|\baircraft\b")),
    (
        TargetType.PORT,
        _rx(
            r"\bport (?:admin|area|terminal|authority|complex|gate|ke|ki|main)\b|\bport's\b|"
            r"\bharbou?r\b|\bberth\b|"
            r"\b(?:on|at) (?:the )?(?:\w+ )?port\b"
        ),
    ),
    (
        TargetType.CONVOY,
        _rx(
            r"\bconvoy\b|\bescort(?:ed|ing)? (?:vehicle|vehicles|party)\b|\bmotorcade\b|"
            r"\bgaariyan\b|\bgaari\b|\btravell?ing (?:to|from)\b|\bon (?:his|their) way\b|"
            r"\bopened fire on (?:his|their|a|the) (?:car|vehicle|jeep)\b|"
            r"\b(?:their|his|her) (?:car|vehicle|jeep|pick-?up)\b"
        ),
    ),
    (
        TargetType.BUS,
        _rx(
            r"\bbus\b|\bcoach\b|\bminibus\b|\bcoaster\b|\bhiace\b|\bpassengers?\b|"
            r"\bvan\b(?<!police van)(?<!prison van)(?<!army van)"
        ),
    ),
    (
        TargetType.PROJECT_SITE,
        _rx(
            r"\bsite\b|\bconstruction camp\b|\bcamp office\b|\bproject\b|"
            r"\bpower (?:plant|station)\b|"
            r"\bplant\b|\bcompound\b|\bexcavators?\b|\bdumpers?\b|\bcontractor'?s?\b|"
            r"\bworksite\b|\bdam\b|\bmine\b|\bcoal (?:field|block)\b|\blabou?r camp\b|\bhpp\b|"
            r"\bhydro ?power\b|\bhydel\b|"
            r"\b(?:project|construction|workers|worker's|workers'|site|their|labourers') camp\b"
        ),
    ),
    (
        TargetType.BUSINESS,
        _rx(
            r"\bclinic\b|\bfactory\b|\bmill\b|\btextile unit\b|\bbank\b|\brestaurant\b|"
            r"\bindustrial (?:area|estate|zone)\b|\bbusinessm[ae]n\b|\bindustrialists?\b|"
            r"\bcompany office\b|\bwarehouse\b|\bpetrol pump\b|\bfilling station\b"
        ),
    ),
    (
        TargetType.GOVERNMENT,
        _rx(
            r"\bresidency\b|\bgovernment (?:building|office|school)s?\b|\bdc office\b|"
            r"\bdeputy commissioner\b|\bassistant commissioner\b|\btehsil office\b|"
            r"\bsecretariat\b|\bjudicial complex\b|\bcourt(?:house| premises)\b|\bjudge\b"
        ),
    ),
    (TargetType.NGO, _rx(r"\bngo\b|\bpolio (?:worker|team|vaccinat\w+)\b|\baid workers?\b")),
    (
        TargetType.POLICE,
        _rx(
            r"\bpolice (?:station|truck|van|mobile|post|check ?post|officials?|party|patrol|"
            r"vehicle|personnel|constable)\b|\bpolicem[ae]n\b|\bcops?\b|\bconstables?\b|"
            r"\bcheck ?post\b|\blevies\b|\bctd (?:office|personnel)\b"
        ),
    ),
    (
        TargetType.MILITARY,
        _rx(
            r"\bsoldiers?\b|\btroops\b|"
            r"\bfc (?:camp|post|fort|personnel|vehicle|convoy|pers|hq|headquarters|base)\b|"
            r"\bfrontier corps\b|\barmy\b|\bsecurity forces\b|\bcantonment\b|\bmilitary\b|"
            r"\bcheckpoint\b|\bjawans?\b"
        ),
    ),
    (
        TargetType.UTILITIES,
        _rx(
            r"\bpylons?\b|\btransmission (?:line|tower)s?\b|\bpower lines?\b|\bpipelines?\b|"
            r"\bgas lines?\b|\bgrid station\b|\bgas (?:field|pipeline)\b|\bwater supply\b|"
            r"\belectricity towers?\b"
        ),
    ),
    (
        TargetType.EDUCATION,
        _rx(
            r"\bschool\b|\bcollege\b|\buniversity\b|\bstudents?\b|\bschool(?:girl|boy)s?\b|"
            r"\bschoolchildren\b|\bmadrassah?\b"
        ),
    ),
    (TargetType.RELIGIOUS, _rx(r"\bmosque\b|\bchurch\b|\bimambargah\b|\bshrine\b|\btemple\b")),
    (TargetType.MEDIA, _rx(r"\bjournalists?\b|\breporters? (?:was|were)\b|\bpress club\b")),
    (TargetType.TELECOM, _rx(r"\bmobile phone company\b|\bcellular tower\b|\btelecom\b")),
    (
        TargetType.TRANSPORT,
        _rx(
            r"\btrain\b|\brailway (?:station|track|line)s?\b|\btrack\b|\bexpress\b|\btruck\b|"
            r"\btanker\b|\bbowser\b|\bbridge\b"
        ),
    ),
    (
        TargetType.POLITICAL,
        _rx(
            r"\brally\b|\bpolitical\b|\bpoliticians?\b|\bcandidate\b|\bmpa\b|\bmna\b|"
            r"\bnazim\b|\bcouncillor\b|\bmayor\b|\bparty leader\b|\bjirga\b"
        ),
    ),
    (
        TargetType.CIVILIANS,
        _rx(r"\bmarket\b|\bbazaar\b|\bshop(?:keeper)?\b|\bcivilians?\b|\bpeople\b|\bhouse\b"),
    ),
]


_ATTACK = _rules(ATTACK_RULES)
_TARGET = _rules(TARGET_RULES)
_DEFUSED = _rx(r"\bdefused\b|\bdiffused\b|\bdefuse[sd]?\b|\bmade safe\b")
#: Fire returned by the escort or the police is not the attack.
_COUNTER_FIRE = _rx(r"\b(?:retaliatory|returned|return|cross)\W*$")
_WENT_OFF = _rx(r"\bexplo(?:ded|sion)\b|\bwent off\b|\bblast\b|\bdetonat\w*|\bblew\b")


def find_attack_type(text: str) -> tuple[AttackType, Span] | None:
    """The first attack rule with an un-negated match in ``text``.

    A bomb found and defused, with nothing going off, is a foiled plot."""
    defused = _DEFUSED.search(text)
    if defused is not None and not _WENT_OFF.search(text):
        return AttackType.PLOT_FOILED, Span(defused.start(), defused.end(), defused.group(0))
    return _first(_ATTACK, text)


def find_target_type(text: str, attack: int | None = None) -> tuple[TargetType, Span] | None:
    """The target of the attack whose words start at offset ``attack``.

    Un-negated matches of every target rule compete: one in the attack's sentence beats one
    elsewhere (a later "convoy wapis camp" does not retarget a stoning of a coaster), then the
    earlier rule, then the match nearer the attack words.
    """
    anchor = attack or 0
    lowered = ascii_lower(text)
    bounds = sentence_bounds(text)
    home = next((b for b in bounds if b[0] <= anchor < b[1]), (0, len(text)))
    best: tuple[tuple[bool, int, int], TargetType, Span] | None = None
    for rank, (value, rule) in enumerate(_TARGET):
        for m in rule.finditer(text, lowered):
            if is_negated(text, m.start()):
                continue
            key = (not home[0] <= m.start() < home[1], rank, abs(m.start() - anchor))
            if best is None or key < best[0]:
                best = (key, value, Span(m.start(), m.end(), m.group(0)))
    return (best[1], best[2]) if best is not None else None


def _first(rules: list[tuple[E, _Rule]], text: str) -> tuple[E, Span] | None:
    lowered = ascii_lower(text)
    for value, rule in rules:
        for m in rule.finditer(text, lowered):
            if not is_negated(text, m.start()) and not _COUNTER_FIRE.search(
                text, max(0, m.start() - 16), m.start()
            ):
                return value, Span(m.start(), m.end(), m.group(0))
    return None
