"""Camera health checks of one deployment from its photos' times (pure functions, no database).

Each check looks for one way a camera trap fails in the field and says where the
effort was lost, so that one step turns the finding into a malfunction interval
(:class:`~server.models.OperatingInterval`) and the camera operation matrix,
trap-nights and RAI follow:

* **clock** - photos dated before 2010 (a clock reset by a battery change), in the
  future, or running backwards (in file order, a photo dated more than an hour
  before the one written just before it);
* **battery or card** - no photos in the last days before retrieval although the
  station's rate says there should have been many (battery dead or card full);
* **knocked over or covered** - a long silence inside the deployment, or a long
  run of blank frames (the camera looks at the ground or at leaves);
* **false triggers** - days with more photos than a camera takes for animals
  (vegetation or sun in the sensor), or a camera whose photos are mostly blank;
* **infrared flash** - many photos over many days and none at night;
* **setup** - the first photos long after the recorded setup, or photos before
  setup / after retrieval (the dates on the deployment disagree with the card).

"Should have been many" is measured against the deployment itself: photos are
grouped into events (gaps under :attr:`Thresholds.event_gap_min`), and a silence
of ``g`` days is a finding when at least :attr:`Thresholds.min_gap_days` long and
the station's event rate predicts :attr:`Thresholds.expected_events` or more in
it (under a Poisson rate the chance of such a silence is below e^-8). A quiet
station is therefore not flagged for the silences its own rate explains.

Times are the deployment's local wall-clock times (naive), as the analyses use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable, Sequence

from ..ingest.timefix import FUTURE_SLACK

CATEGORIES = ("clock", "battery_or_card", "knocked_or_covered", "false_triggers", "infrared", "setup")
#: check -> category
CHECKS = {
    "clock_before_2010": "clock", "clock_future": "clock", "clock_backwards": "clock",
    "stopped_early": "battery_or_card",
    "long_gap": "knocked_or_covered", "blank_run": "knocked_or_covered",
    "false_triggers": "false_triggers", "mostly_blank": "false_triggers",
    "no_night_photos": "infrared",
    "late_first_photo": "setup", "photos_before_setup": "setup", "photos_after_retrieval": "setup",
}


@dataclass(frozen=True)
class Thresholds:
    """What counts as a fault (defaults suit camera traps set for animals)."""

    earliest_year: int = 2010
    event_gap_min: float = 5.0  # photos closer than this are one event
    min_gap_days: float = 2.0  # a silence shorter than this is never a fault
    expected_events: float = 8.0  # ...nor one in which the station's rate predicts fewer events
    blank_run: int = 50  # consecutive blank photos
    blank_run_hours: float = 6.0  # ...spanning at least this long
    max_photos_per_day: int = 300
    mostly_blank_share: float = 0.8
    mostly_blank_min: int = 200  # photos with a known blank/animal status needed to judge
    night_min_photos: int = 100
    night_min_days: float = 7.0
    night_from: int = 20  # local hours that are dark everywhere in Viet Nam all year
    night_to: int = 4
    backwards_s: float = 3600.0
    date_slack_h: float = 1.0  # photos this close outside setup/retrieval are a rounding of the dates


@dataclass(frozen=True)
class Shot:
    """One photo or video: its local time, the camera's clock as written, file order, flags."""

    time: datetime | None
    raw: datetime | None = None
    order: str = ""  # file path on the card: the order the camera wrote the files
    flags: tuple[str, ...] = ()
    kind: str = "image"
    blank: bool | None = None  # True: nothing in it; False: an animal, person or vehicle; None: not known
    battery_v: float | None = None


@dataclass
class DeploymentShots:
    """A deployment (local setup and retrieval times) and its shots."""

    deployment_id: str
    station: str
    setup: datetime
    retrieval: datetime | None
    shots: list[Shot]
    now: datetime | None = None  # local "now" of the deployment's zone (future dates)


@dataclass
class Finding:
    """One fault found in a deployment, with the intervals (local times) where effort was lost."""

    check: str
    deployment_id: str
    station: str
    message: str
    count: int = 0
    intervals: list[tuple[datetime, datetime]] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    recorded: bool = False  # malfunction intervals already cover every interval

    @property
    def category(self) -> str:
        return CHECKS[self.check]

    @property
    def key(self) -> str:
        """Stable id of the finding within its deployment (the check and where it starts)."""
        first = self.intervals[0][0].strftime("%Y%m%dT%H%M%S") if self.intervals else "-"
        return f"{self.check}@{first}"

    def as_dict(self) -> dict:
        return {"deployment_id": self.deployment_id, "station": self.station, "category": self.category,
                "check": self.check, "key": self.key, "message": self.message, "count": self.count,
                "intervals": [{"start": s.isoformat(sep=" "), "end": e.isoformat(sep=" ")} for s, e in self.intervals],
                "recorded": self.recorded, "details": self.details}


def _at(s: Shot) -> datetime:
    """The time of a shot known to have one."""
    assert s.time is not None
    return s.time


def _fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def _clip(intervals: Iterable[tuple[datetime, datetime]], lo: datetime, hi: datetime | None):
    out = []
    for s, e in intervals:
        s, e = max(s, lo), (min(e, hi) if hi is not None else e)
        if e > s:
            out.append((s, e))
    return out


def _events(times: Sequence[datetime], gap_min: float) -> list[tuple[datetime, datetime]]:
    """(first, last) of each run of times closer than ``gap_min`` minutes (times sorted)."""
    out: list[list[datetime]] = []
    for t in times:
        if out and (t - out[-1][1]).total_seconds() <= gap_min * 60:
            out[-1][1] = t
        else:
            out.append([t, t])
    return [(a, b) for a, b in out]


def check_deployment(dep: DeploymentShots, th: Thresholds = Thresholds(),
                     malfunctions: Sequence[tuple[datetime, datetime]] = ()) -> list[Finding]:
    """Every finding of one deployment (see the module docstring), in check order.

    ``malfunctions``: intervals already recorded; a finding whose intervals they cover is
    marked ``recorded`` (it stays listed, so a page shows what was done about it).
    """
    findings: list[Finding] = []
    setup, retrieval = dep.setup, dep.retrieval
    now = dep.now or datetime.now()
    ok = [s for s in dep.shots if s.time is not None]
    early = [s for s in ok if (s.raw or s.time).year < th.earliest_year or "clock_reset" in s.flags]
    future = [s for s in ok if s not in early and ("future_time" in s.flags or s.time > now + FUTURE_SLACK)]
    bad = set(map(id, early + future))
    good = [s for s in ok if id(s) not in bad]

    def span_around(wrong: list[Shot]) -> list[tuple[datetime, datetime]]:
        """From the last correctly dated file before the wrong ones to the first after them (file order):
        the camera's time there is unknown, so is its effort."""
        by_file = sorted(ok, key=lambda s: s.order)
        idx = [i for i, s in enumerate(by_file) if id(s) in set(map(id, wrong))]
        before = [s.time for s in by_file[:idx[0]] if id(s) not in bad]
        after = [s.time for s in by_file[idx[-1] + 1:] if id(s) not in bad]
        lo = before[-1] if before else setup
        hi = after[0] if after else (retrieval or (max(s.time for s in good) if good else setup))
        return _clip([(lo, hi)], setup, retrieval) if lo is not None and hi is not None else []

    if early:
        findings.append(Finding("clock_before_2010", dep.deployment_id, dep.station,
                                f"{len(early)} photo(s) dated before {th.earliest_year} (first "
                                f"{min((s.raw or s.time) for s in early):%Y-%m-%d}): the camera's clock was reset, "
                                "usually by a battery change; set the clock offset or mark the time lost",
                                len(early), span_around(early)))
    if future:
        findings.append(Finding("clock_future", dep.deployment_id, dep.station,
                                f"{len(future)} photo(s) dated in the future (up to "
                                f"{max(s.time for s in future):%Y-%m-%d}): the camera's clock is wrong",
                                len(future), span_around(future)))
    by_file = sorted(good, key=lambda s: s.order)
    jumps = [(a, b) for a, b in zip(by_file, by_file[1:])
             if a.order != b.order and (a.time - b.time).total_seconds() > th.backwards_s]
    if jumps:
        worst = max(jumps, key=lambda ab: ab[0].time - ab[1].time)
        findings.append(Finding("clock_backwards", dep.deployment_id, dep.station,
                                f"time runs backwards {len(jumps)} time(s) in file order (worst: {worst[1].order} "
                                f"dated {_fmt(worst[1].time)} after {worst[0].order} dated {_fmt(worst[0].time)}): "
                                "the clock was changed during the deployment",
                                len(jumps), _clip([(_at(b), _at(a)) for a, b in jumps], setup, retrieval),
                                {"worst_hours": round((worst[0].time - worst[1].time).total_seconds() / 3600, 2)}))

    slack = timedelta(hours=th.date_slack_h)
    # Dates at the ends of the calendar (year 1 or 9999: a reset clock, a typo) must not overflow.
    early = setup - slack if setup > datetime.min.replace(tzinfo=setup.tzinfo) + slack else setup
    late = None if retrieval is None else (
        retrieval + slack if retrieval < datetime.max.replace(tzinfo=retrieval.tzinfo) - slack else retrieval)
    before = [s for s in good if s.time < early]
    after = [s for s in good if late is not None and s.time > late]
    if before:
        findings.append(Finding("photos_before_setup", dep.deployment_id, dep.station,
                                f"{len(before)} photo(s) before the recorded setup {_fmt(setup)} (first "
                                f"{_fmt(min(s.time for s in before))}): the setup date or the camera's clock is wrong",
                                len(before), [], {"first": min(s.time for s in before).isoformat(sep=" ")}))
    if after and retrieval is not None:
        findings.append(Finding("photos_after_retrieval", dep.deployment_id, dep.station,
                                f"{len(after)} photo(s) after the recorded retrieval {_fmt(retrieval)} (last "
                                f"{_fmt(max(s.time for s in after))}): the retrieval date or the clock is wrong",
                                len(after), [], {"last": max(s.time for s in after).isoformat(sep=" ")}))

    inside = sorted((s for s in good if s.time >= setup and (retrieval is None or s.time <= retrieval)),
                    key=_at)
    recorded = sorted(malfunctions)
    end = retrieval or (inside[-1].time if inside else setup)
    days = max((end - setup).total_seconds() / 86400, 1e-9)
    events = _events([_at(s) for s in inside], th.event_gap_min)
    rate = len(events) / days  # events per day

    def unlikely(a: datetime, b: datetime) -> bool:
        g = (b - a).total_seconds() / 86400
        return g >= th.min_gap_days and rate * g >= th.expected_events

    if events and unlikely(setup, events[0][0]):
        a, b = setup, events[0][0]
        g = (b - a).total_seconds() / 86400
        findings.append(Finding("late_first_photo", dep.deployment_id, dep.station,
                                f"the first photo ({_fmt(b)}) comes {g:.1f} days after the recorded setup "
                                f"({_fmt(a)}), where the station's rate ({rate:.1f} events a day) predicts about "
                                f"{rate * g:.0f} events: the setup date is wrong or the camera was not armed",
                                1, [(a, b)], {"events_per_day": round(rate, 3)}))
    gaps = [(x[1], y[0]) for x, y in zip(events, events[1:]) if unlikely(x[1], y[0])]
    if gaps:
        longest = max(gaps, key=lambda ab: ab[1] - ab[0])
        findings.append(Finding("long_gap", dep.deployment_id, dep.station,
                                f"{len(gaps)} silence(s) the station's rate ({rate:.1f} events a day) does not explain, "
                                f"the longest {(longest[1] - longest[0]).total_seconds() / 86400:.1f} days from "
                                f"{_fmt(longest[0])}: the camera was knocked over, covered or off",
                                len(gaps), gaps, {"events_per_day": round(rate, 3)}))
    if retrieval is not None and events and unlikely(events[-1][1], retrieval):
        a = events[-1][1]
        volts = [s.battery_v for s in inside if s.battery_v is not None]
        findings.append(Finding("stopped_early", dep.deployment_id, dep.station,
                                f"no photo in the last {(retrieval - a).total_seconds() / 86400:.1f} days before "
                                f"retrieval (last {_fmt(a)}; {len(inside)} photos on the card)"
                                + (f", battery {volts[-1]:.2f} V at the last photo" if volts else "")
                                + ": the battery died or the card was full",
                                1, [(a, retrieval)], {"last_photo": a.isoformat(sep=" "), "photos": len(inside),
                                                      **({"last_battery_v": volts[-1]} if volts else {})}))

    # Runs of blank frames (time order): the camera sees the ground, leaves or its cover.
    runs: list[list[Shot]] = []
    cur: list[Shot] = []
    for s in inside:
        if s.blank is True:
            cur.append(s)
        elif s.blank is False:
            if cur:
                runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    long_runs = [r for r in runs if len(r) >= th.blank_run
                 and (r[-1].time - r[0].time).total_seconds() >= th.blank_run_hours * 3600]
    if long_runs:
        findings.append(Finding("blank_run", dep.deployment_id, dep.station,
                                f"{len(long_runs)} run(s) of blank frames, the longest {max(map(len, long_runs))} "
                                "photos in a row with nothing in them: the camera was knocked over or covered",
                                sum(map(len, long_runs)), [(_at(r[0]), _at(r[-1])) for r in long_runs]))

    per_day: dict[date, int] = {}
    for s in inside:
        per_day[s.time.date()] = per_day.get(s.time.date(), 0) + 1
    busy = sorted(d for d, n in per_day.items() if n > th.max_photos_per_day)
    if busy:
        spans: list[list[date]] = []
        for d in busy:
            if spans and (d - spans[-1][1]).days == 1:
                spans[-1][1] = d
            else:
                spans.append([d, d])
        ivs = _clip([(datetime.combine(a, time()), datetime.combine(b + timedelta(days=1), time())) for a, b in spans],
                    setup, retrieval)
        findings.append(Finding("false_triggers", dep.deployment_id, dep.station,
                                f"{len(busy)} day(s) with more than {th.max_photos_per_day} photos (most "
                                f"{max(per_day[d] for d in busy)} on {max(busy, key=lambda d: per_day[d])}): "
                                "vegetation or sun triggers the camera",
                                len(busy), ivs, {"days": {d.isoformat(): per_day[d] for d in busy}}))
    known = [s for s in inside if s.blank is not None]
    blank_n = sum(1 for s in known if s.blank)
    if len(known) >= th.mostly_blank_min and blank_n >= th.mostly_blank_share * len(known):
        findings.append(Finding("mostly_blank", dep.deployment_id, dep.station,
                                f"{blank_n} of {len(known)} screened photos ({100 * blank_n / len(known):.0f}%) are "
                                "blank: false triggers (vegetation, sun, heat); re-aim or clear the view "
                                "(the camera still worked: no effort lost)",
                                blank_n, [], {"blank_share": round(blank_n / len(known), 4)}))

    images = [s for s in inside if s.kind == "image"]
    if images:
        span_days = (images[-1].time - images[0].time).total_seconds() / 86400
        night = [s for s in images if s.time.hour >= th.night_from or s.time.hour < th.night_to]
        if len(images) >= th.night_min_photos and span_days >= th.night_min_days and not night:
            nights = []
            d = setup.date()
            while datetime.combine(d, time()) < end:
                nights.append((datetime.combine(d, time(th.night_from)),
                               datetime.combine(d + timedelta(days=1), time(th.night_to))))
                d += timedelta(days=1)
            findings.append(Finding("no_night_photos", dep.deployment_id, dep.station,
                                    f"{len(images)} photos over {span_days:.0f} days and none between "
                                    f"{th.night_from:02d}:00 and {th.night_to:02d}:00: the infrared flash is broken "
                                    "(the nights are lost effort)",
                                    len(images), _clip(nights, setup, end)))
    for f in findings:
        f.recorded = bool(f.intervals) and all(
            any(ms <= s and me >= e for ms, me in recorded) for s, e in f.intervals)
    return findings


def summary(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings of each category (every category present, 0 when none)."""
    out = {c: 0 for c in CATEGORIES}
    for f in findings:
        out[f.category] += 1
    return out


def expected_silence_probability(rate_per_day: float, days: float) -> float:
    """The chance, under a Poisson event rate, of a silence of ``days`` (what the threshold means)."""
    return math.exp(-rate_per_day * days)
