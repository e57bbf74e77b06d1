"""Build the demo incident set shipped in ``src/silkguard/demo/data/demo_incidents.jsonl``.

Reads the two shared CSVs (``cpec_incidents.csv`` and ``pk_incidents_2007_2015.csv``) and writes
one native-schema JSON object per line (see docs/native-format.md), sorted by date then id.

Only facts and figures are taken from the shared files. The summaries are our own: the 31 CPEC
rows have a hand-written sentence each (``CPEC_SUMMARIES``), and the pk rows get a sentence
generated from their structured fields. The shared summary text is never used.

Run::

    .venv/bin/python scripts/build_demo_data.py /work/shared/data
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CPEC_FILE = "cpec_incidents.csv"
PK_FILE = "pk_incidents_2007_2015.csv"
CPEC_ROWS = 31
PK_ROWS = 495
DEFAULT_OUT = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "silkguard"
    / "demo"
    / "data"
    / "demo_incidents.jsonl"
)

SOURCE_NAME = "silkguard-demo"
LICENCE = "facts compiled from public reports; summaries CC BY 4.0 silkguard"
TLP = "CLEAR"
CPEC_URL_SEPARATOR = " ; "
# Shared word runs of this length between our summary and the source's mean we copied.
COPY_RUN_WORDS = 5

# Approximate radius (km) of each CPEC coordinate, from the precision table of
# cpec_incidents.md. The coordinates are the compiler's estimates of the named place.
CPEC_RADIUS_KM: dict[str, float] = {
    "CPEC-2004-05-03-gwadar": 3,
    "CPEC-2004-10-09-gomal-zam": 15,
    "CPEC-2006-02-15-hub": 3,
    "CPEC-2007-07-08-peshawar": 10,
    "CPEC-2007-07-19-hub": 2,
    "CPEC-2008-08-29-lower-dir": 25,
    "CPEC-2012-02-28-peshawar": 2,
    "CPEC-2016-05-30-karachi-gulshan-e-hadeed": 5,
    "CPEC-2017-04-05-kharan-gawash": 30,
    "CPEC-2017-05-13-gwadar-pishgan": 15,
    "CPEC-2017-05-24-quetta-jinnah-town": 2,
    "CPEC-2018-02-05-karachi-zamzama": 1,
    "CPEC-2018-08-11-dalbandin": 3,
    "CPEC-2018-11-23-karachi-consulate": 0.5,
    "CPEC-2019-05-11-gwadar-pc-hotel": 2,
    "CPEC-2020-06-29-karachi-psx": 0.5,
    "CPEC-2021-03-09-karachi-lyari": 2,
    "CPEC-2021-04-21-quetta-serena": 1.5,
    "CPEC-2021-07-14-dasu-bus": 8,
    "CPEC-2021-07-28-karachi-site": 3,
    "CPEC-2021-08-20-gwadar-east-bay": 2,
    "CPEC-2022-04-26-karachi-university": 1,
    "CPEC-2022-05-16-hoshab-plot": 5,
    "CPEC-2022-09-28-karachi-saddar-clinic": 1,
    "CPEC-2023-04-16-dasu-blasphemy-mob": 5,
    "CPEC-2023-08-13-gwadar-convoy": 3,
    "CPEC-2024-03-20-gwadar-port-authority": 2,
    "CPEC-2024-03-25-turbat-pns-siddique": 2,
    "CPEC-2024-03-26-besham": 6,
    "CPEC-2024-10-06-karachi-airport": 2,
    "CPEC-2024-11-05-karachi-site-guard": 3,
}
# Radius bands: up to 1 km is a known building or compound, up to 15 km a town or stretch of
# road, anything wider only places the event in its district.
EXACT_MAX_KM = 1.0
PLACE_MAX_KM = 15.0

CPEC_SUMMARIES: dict[str, str] = {
    "CPEC-2004-05-03-gwadar": (
        "A remote-detonated car bomb parked on the Gwadar port road struck a bus of Chinese "
        "harbour engineers, killing three of them and wounding ten or eleven people, most of them "
        "Chinese."
    ),
    "CPEC-2004-10-09-gomal-zam": (
        "Two Chinese engineers bound for the Gomal Zam dam works, and their guard, were "
        "kidnapped near Jandola in South Waziristan; one engineer died when security forces "
        "moved to free the hostages."
    ),
    "CPEC-2006-02-15-hub": (
        "Gunmen on a motorcycle ambushed a car carrying Chinese cement-factory engineers near "
        "Hub, killing three Chinese and the Pakistani driver; the BLA said it was responsible."
    ),
    "CPEC-2007-07-08-peshawar": (
        "Three members of a Chinese family who ran a rickshaw workshop on the outskirts of "
        "Peshawar were shot dead and a fourth was wounded; accounts of the setting vary."
    ),
    "CPEC-2007-07-19-hub": (
        "A suicide car bomber hit the police escort of a minibus with Chinese workers in the "
        "main bazaar of Hub; around 30 people died, several police among them, while the "
        "Chinese passengers were not hurt (tolls vary)."
    ),
    "CPEC-2008-08-29-lower-dir": (
        "The Swat Taliban said they had kidnapped two Chinese telecom engineers, with their "
        "driver and guard, in Lower Dir after a repair job at a mobile mast; weeks later one "
        "engineer got away and the other was injured and held again."
    ),
    "CPEC-2012-02-28-peshawar": (
        "A Chinese woman and a Pakistani man with her were killed by gunmen on a motorcycle in "
        "a Peshawar bazaar; a TTP faction from Darra Adam Khel named Xinjiang as its motive."
    ),
    "CPEC-2016-05-30-karachi-gulshan-e-hadeed": (
        "A bomb set off by remote control beside the National Highway at Gulshan-e-Hadeed, "
        "Karachi, hit the van of a Chinese engineer on his way to a power plant at Port Qasim, "
        "slightly hurting the engineer, the driver and a guard; the SRA claimed it."
    ),
    "CPEC-2017-04-05-kharan-gawash": (
        "Four road labourers from Sindh were shot dead by motorcyclists while building a "
        "CPEC-linked road in the Gawash area of Kharan district."
    ),
    "CPEC-2017-05-13-gwadar-pishgan": (
        "Gunmen on motorbikes attacked two road-construction sites near Pishgan in Gwadar "
        "district, killing ten labourers from Sindh and wounding one; the BLA claimed it."
    ),
    "CPEC-2017-05-24-quetta-jinnah-town": (
        "Two Chinese nationals who taught languages in Quetta were kidnapped in Jinnah Town by "
        "men dressed as police, who also shot a bystander; Islamic State later said it had "
        "killed both."
    ),
    "CPEC-2018-02-05-karachi-zamzama": (
        "A Chinese shipping-company manager was shot dead in his car in Clifton, Karachi, and a "
        "bystander was hurt; a Chinese colleague in the car escaped unharmed."
    ),
    "CPEC-2018-08-11-dalbandin": (
        "A suicide bomber set off a vehicle beside a bus of Saindak mining project staff near "
        "Dalbandin, wounding several Chinese engineers and their FC escort; the BLA claimed it."
    ),
    "CPEC-2018-11-23-karachi-consulate": (
        "Three BLA gunmen tried to force their way into China's consulate in Karachi's Clifton "
        "area; two police officers and two visitors died, all three attackers were killed and "
        "no consulate staff were hurt."
    ),
    "CPEC-2019-05-11-gwadar-pc-hotel": (
        "BLA attackers stormed the Pearl Continental hotel on Koh-e-Batil in Gwadar, used by "
        "Chinese project staff, and killed four hotel employees and one navy soldier before "
        "security forces shot them dead; no Chinese guests were there at the time."
    ),
    "CPEC-2020-06-29-karachi-psx": (
        "Four BLA gunmen with rifles and grenades were killed at the entrance of the Pakistan "
        "Stock Exchange in Karachi, part-owned by Chinese firms; reported deaths among guards "
        "and others range from three to seven."
    ),
    "CPEC-2021-03-09-karachi-lyari": (
        "Motorcyclists fired at a municipal waste-management vehicle in Lyari, Karachi, in "
        "which a Chinese official was travelling; he was slightly hurt and a passer-by was "
        "wounded."
    ),
    "CPEC-2021-04-21-quetta-serena": (
        "A car bomb went off in the car park of the Serena hotel in Quetta, where the Chinese "
        "ambassador was staying but not present, killing four and injuring about twelve; the "
        "TTP claimed it."
    ),
    "CPEC-2021-07-14-dasu-bus": (
        "A suicide car bomb struck a bus taking staff to the Dasu hydropower project along the "
        "Karakoram Highway, killing 13 people including nine Chinese engineers; investigators "
        "later tied it to the TTP after a gas leak was first blamed."
    ),
    "CPEC-2021-07-28-karachi-site": (
        "Two men on a motorcycle shot at an unescorted car carrying two Chinese factory workers "
        "in Karachi's SITE area, wounding one of them."
    ),
    "CPEC-2021-08-20-gwadar-east-bay": (
        "A suicide bomber on foot blew himself up next to a convoy of Chinese workers on "
        "Gwadar's East Bay Expressway; two local children died, one Chinese national was "
        "slightly hurt, and the BLA claimed the attack."
    ),
    "CPEC-2022-04-26-karachi-university": (
        "A woman suicide bomber of the BLA Majeed Brigade blew herself up beside a van carrying "
        "Confucius Institute staff at the University of Karachi, killing three Chinese teachers "
        "and their Pakistani driver."
    ),
    "CPEC-2022-05-16-hoshab-plot": (
        "In Hoshab, Kech, counter-terrorism police detained a woman carrying explosives who was "
        "said to be preparing a suicide attack on a Chinese convoy; nobody was hurt."
    ),
    "CPEC-2022-09-28-karachi-saddar-clinic": (
        "A man pretending to be a patient shot three staff of Chinese origin at a dental clinic "
        "in Saddar, Karachi, killing one; the victims' nationality was disputed and a Sindhi "
        "separatist group claimed the attack."
    ),
    "CPEC-2023-04-16-dasu-blasphemy-mob": (
        "Workers at the Dasu hydropower project accused a Chinese supervisor of blasphemy after "
        "a dispute over prayer breaks; protesters blocked the Karakoram Highway and threw "
        "stones at the camp until police took him into custody and flew him out, with no one "
        "reported hurt."
    ),
    "CPEC-2023-08-13-gwadar-convoy": (
        "BLA militants hit a convoy carrying Chinese port staff in Gwadar with a bomb and "
        "gunfire; the armoured vehicles held, no Chinese were hurt, a few security personnel "
        "were wounded and two attackers died."
    ),
    "CPEC-2024-03-20-gwadar-port-authority": (
        "Eight BLA militants attacked the complex of the Gwadar Port Authority with gunfire and "
        "explosives in an attempt to get in; all eight were killed, as were two soldiers."
    ),
    "CPEC-2024-03-25-turbat-pns-siddique": (
        "Related incident: at night BLA fighters attacked the PNS Siddique naval air station in "
        "Turbat, naming Chinese investment as a reason; one FC soldier died and the attackers "
        "were killed."
    ),
    "CPEC-2024-03-26-besham": (
        "A suicide bomber rammed a car full of explosives into a convoy carrying Chinese "
        "engineers to the Dasu project, on the Karakoram Highway near Besham; five Chinese and "
        "their Pakistani driver were killed."
    ),
    "CPEC-2024-10-06-karachi-airport": (
        "A suicide car bomb claimed by the BLA hit a convoy of Chinese power-plant engineers "
        "leaving Jinnah International Airport in Karachi, killing two Chinese and injuring more "
        "than ten people."
    ),
    "CPEC-2024-11-05-karachi-site-guard": (
        "A private security guard shot and wounded two Chinese nationals after a dispute in the "
        "SITE area of Karachi; one was badly hurt and the guard was arrested."
    ),
}

# Sentence openings for the generated pk summaries, one per attack type of the shared file.
ATTACK_OPENINGS: dict[str, str] = {
    "ied": "Improvised bomb attack on {target}",
    "suicide_bombing": "Suicide bombing against {target}",
    "vbied": "Vehicle bomb attack on {target}",
    "suicide_vbied": "Suicide vehicle bomb attack on {target}",
    "shooting": "Shooting attack on {target}",
    "armed_assault": "Armed assault on {target}",
    "sabotage": "Sabotage attack on {target}",
    "grenade": "Grenade attack on {target}",
    "kidnapping": "Kidnapping targeting {target}",
    "rocket": "Rocket or mortar fire at {target}",
    "other": "Militant attack on {target}",
}
TARGET_WORDS: dict[str, str] = {
    "religious": "a religious site or figure",
    "civilians": "civilians",
    "police": "police",
    "security_forces": "security forces",
    "political": "a political figure or office",
    "education": "an educational institution or its staff",
    "infrastructure": "infrastructure",
    "other": "an unspecified target",
    "government": "government officials or offices",
    "transport": "transport",
    "foreigners": "foreign nationals",
    "media": "media workers",
}


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


def _bool(text: str) -> bool | None:
    key = text.strip().lower()
    if key == "true":
        return True
    if key == "false":
        return False
    return None


def _cpec_geo_precision(incident_id: str) -> str:
    radius_km = CPEC_RADIUS_KM.get(incident_id)
    if radius_km is None:
        return "place"
    if radius_km <= EXACT_MAX_KM:
        return "exact"
    if radius_km <= PLACE_MAX_KM:
        return "place"
    return "district"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _common(row: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "place": row["place"] or None,
        "district": row["district"] or None,
        "province": row["province"] or None,
        "latitude": float(row["latitude"]) if row["latitude"] else None,
        "longitude": float(row["longitude"]) if row["longitude"] else None,
        "attack_type": row["attack_type"],
        "target_type": row["target_type"],
        "perpetrator": row["perpetrator"] or None,
        "source_name": SOURCE_NAME,
        "licence": LICENCE,
        "tlp": TLP,
    }


def cpec_record(row: dict[str, str]) -> dict[str, Any]:
    """One native record from a row of cpec_incidents.csv."""
    time_local = row["time_local"].strip() or None
    record = _common(row)
    record.update(
        {
            "date": row["date"],
            "date_precision": "time" if time_local else "day",
            "time_local": time_local,
            "geo_precision": _cpec_geo_precision(row["id"]),
            "claimed": _bool(row["claimed"]),
            "killed": _int_or_none(row["killed_total"]),
            "injured": _int_or_none(row["injured_total"]),
            "killed_foreign": _int_or_none(row["killed_chinese"]),
            "injured_foreign": _int_or_none(row["injured_chinese"]),
            # Every row of the file is about Chinese nationals or Chinese-backed projects.
            "nationalities": ["Chinese"],
            "on_the_move": _bool(row["movement"]),
            "summary": CPEC_SUMMARIES[row["id"]],
            "source_url": row["sources"].split(CPEC_URL_SEPARATOR)[0].strip() or None,
        }
    )
    return record


def _location(row: dict[str, str]) -> str:
    parts = [row["place"]]
    if row["district"] and row["district"].lower() not in row["place"].lower():
        parts.append(row["district"])
    if row["province"]:
        parts.append(row["province"])
    return ", ".join(p for p in parts if p)


def _casualties(killed: int | None, injured: int | None) -> str:
    if killed is None and injured is None:
        return "casualty figures not reported"
    if killed is None:
        return f"deaths not reported, {injured} injured"
    if injured is None:
        return f"{killed} killed, injuries not reported"
    if killed == 0 and injured == 0:
        return "no casualties reported"
    dead = f"{killed} killed" if killed else "no deaths"
    hurt = f"{injured} injured" if injured else "none injured"
    return f"{dead}, {hurt}"


def pk_summary(row: dict[str, str]) -> str:
    """A short factual sentence built from the structured fields only."""
    target = TARGET_WORDS.get(row["target_type"], row["target_type"].replace("_", " "))
    opening = ATTACK_OPENINGS.get(row["attack_type"], "Attack on {target}").format(target=target)
    text = (
        f"{opening} in {_location(row)}; "
        f"{_casualties(_int_or_none(row['killed']), _int_or_none(row['injured']))}."
    )
    if row["perpetrator"] and row["perpetrator"] != "unknown":
        text += f" Source attribution: {row['perpetrator']}."
    if row["date_precision"] == "month":
        text += " Date known to the month only."
    return text


def pk_record(row: dict[str, str]) -> dict[str, Any]:
    """One native record from a row of pk_incidents_2007_2015.csv."""
    month_only = row["date_precision"] == "month"
    record = _common(row)
    record.update(
        {
            "date": row["date"][:7] if month_only else row["date"],
            "date_precision": row["date_precision"] or "day",
            "time_local": None,
            "geo_precision": row["geo_precision"] or "place",
            "claimed": None,  # the file has no claim column
            "killed": _int_or_none(row["killed"]),
            "injured": _int_or_none(row["injured"]),
            "killed_foreign": None,
            "injured_foreign": None,
            # Foreign victims' nationalities are not in the file; for the rows that target
            # foreigners they are unknown rather than none.
            "nationalities": None if row["target_type"] == "foreigners" else [],
            "on_the_move": True if row["target_type"] == "transport" else None,
            "summary": pk_summary(row),
            "source_url": row["source_url"].strip() or None,
        }
    )
    return record


def _word_runs(text: str, size: int) -> set[tuple[str, ...]]:
    words = ["".join(ch for ch in w.lower() if ch.isalnum()) for w in text.split()]
    words = [w for w in words if w]
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def _check_own_words(ours: str, theirs: str, incident_id: str) -> None:
    shared = _word_runs(ours, COPY_RUN_WORDS) & _word_runs(theirs, COPY_RUN_WORDS)
    if shared:
        run = " ".join(sorted(shared)[0])
        msg = f"{incident_id}: the summary repeats the source's wording ({run!r}); rewrite it"
        raise SystemExit(msg)


def build(data_dir: Path) -> list[dict[str, Any]]:
    """All demo records, checked and sorted by date then id."""
    cpec_rows = _read(data_dir / CPEC_FILE)
    pk_rows = _read(data_dir / PK_FILE)
    if len(cpec_rows) != CPEC_ROWS or len(pk_rows) != PK_ROWS:
        msg = (
            f"expected {CPEC_ROWS} + {PK_ROWS} rows, found {len(cpec_rows)} + {len(pk_rows)}; "
            "are these the shared files this script was written for?"
        )
        raise SystemExit(msg)
    missing = sorted({r["id"] for r in cpec_rows} ^ set(CPEC_SUMMARIES))
    if missing:
        msg = f"CPEC ids without a summary, or summaries without a row: {missing}"
        raise SystemExit(msg)
    records: list[dict[str, Any]] = []
    for rows, convert in ((cpec_rows, cpec_record), (pk_rows, pk_record)):
        for row in rows:
            record = convert(row)
            _check_own_words(record["summary"], row["summary"], row["id"])
            records.append(record)
    ids = [r["id"] for r in records]
    if len(set(ids)) != len(ids):
        msg = "duplicate ids across the two files"
        raise SystemExit(msg)
    records.sort(key=lambda r: (r["date"], r["id"]))
    return records


def write_jsonl(records: Iterable[dict[str, Any]], out: Path) -> int:
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data_dir", type=Path, help="folder holding the two shared CSV files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON Lines file to write")
    args = parser.parse_args(argv)
    records = build(args.data_dir)
    count = write_jsonl(records, args.out)
    if count != CPEC_ROWS + PK_ROWS:
        msg = f"wrote {count} rows, expected {CPEC_ROWS + PK_ROWS}"
        raise SystemExit(msg)
    sys.stdout.write(f"wrote {count} incidents to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
