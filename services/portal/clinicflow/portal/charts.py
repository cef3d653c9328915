"""A measure's trajectory across a course, drawn server-side as accessible SVG: no script, no CDN, works offline in
a clinic network. Pure: data in, markup out."""

from __future__ import annotations

from html import escape

# The most an instrument's total can be (docs/clinical-rules.md §2), for the vertical axis.
MAXIMUM = {"phq9": 27, "gad7": 21, "pcl5": 80, "pain_nrs": 10}
NAMES = {"phq9": "PHQ-9 (depression)", "gad7": "GAD-7 (anxiety)", "pcl5": "PCL-5 (PTSD)",
         "pain_nrs": "Pain NRS"}
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 480, 200, 40, 16, 16, 32


def trajectory_svg(instrument: str, figures: dict) -> str:
    """The baseline, then each measure by the session it followed, with the baseline and the 50 % response line
    drawn; every point has a text equivalent (title), and the chart a title and description."""
    maximum = MAXIMUM.get(instrument, max([figures["baseline"], *(p["total"] for p in figures["trajectory"])]) or 1)
    points = [(0, figures["baseline"])] + [(p["after_session"], p["total"]) for p in figures["trajectory"]]
    last_session = max(1, *(x for x, _ in points))

    def x(session: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * session / last_session

    def y(total: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - total / maximum)

    name = NAMES.get(instrument, instrument)
    response_line = figures["baseline"] / 2
    summary = (f"{name}: baseline {figures['baseline']}, latest {figures['latest']} "
               f"({figures['change_percent']:+g}%); response {_yes_no(figures['response'])}, "
               f"remission {_yes_no(figures['remission'])}.")
    parts = [
        f'<svg class="trajectory" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="t-{instrument} '
        f'd-{instrument}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="t-{instrument}">{escape(name)} across the course</title>',
        f'<desc id="d-{instrument}">{escape(summary)}</desc>',
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>',
        f'<text x="{LEFT - 6}" y="{y(maximum) + 4:.1f}" text-anchor="end">{maximum}</text>',
        f'<text x="{LEFT - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
        f'<line class="baseline" x1="{LEFT}" y1="{y(figures["baseline"]):.1f}" x2="{WIDTH - RIGHT}" '
        f'y2="{y(figures["baseline"]):.1f}"/>',
        f'<line class="response" x1="{LEFT}" y1="{y(response_line):.1f}" x2="{WIDTH - RIGHT}" '
        f'y2="{y(response_line):.1f}"/>',
        f'<text class="label" x="{WIDTH - RIGHT}" y="{y(response_line) - 4:.1f}" text-anchor="end">'
        f'50% of baseline</text>',
        '<polyline class="line" points="' + " ".join(f"{x(s):.1f},{y(t):.1f}" for s, t in points) + '"/>',
    ]
    for session, total in points:
        when = "baseline" if session == 0 else f"after session {session}"
        parts.append(f'<circle class="point" cx="{x(session):.1f}" cy="{y(total):.1f}" r="4">'
                     f'<title>{escape(name)} {total}, {when}</title></circle>')
    for session in range(0, last_session + 1):
        parts.append(f'<text x="{x(session):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                     f'{"B" if session == 0 else session}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _yes_no(value: bool | None) -> str:
    return "not applicable" if value is None else "yes" if value else "no"
