"""What a register inspector asks for: a page's entries over a period as CSV, and as a printable PDF. Pure."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from fpdf import FPDF
from fpdf.fonts import FontFace

from clinicflow.register.ledger import Entry, units, verify_page
from clinicflow.register.rules import Product

COLUMNS = ["seq", "recorded_at", "occurred_at", "kind", "amount_mg", "balance_mg", "balance_units", "batch",
           "supplier", "expiry", "pathway_id", "session_id", "volume_ml", "recorded_by", "witnessed_by", "relates_to",
           "reason", "hash"]


def _units(product: Product, entry: Entry) -> str:
    return str(units(product, entry.balance_mg))


def page_csv(product: Product, entries: list[Entry]) -> str:
    """The entries as CSV, one row each, with the balance in mg and in the product's units."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for e in entries:
        values = {**{c: getattr(e, c, None) for c in COLUMNS}, "balance_units": _units(product, e)}
        writer.writerow(["" if values[c] is None else str(values[c]) for c in COLUMNS])
    return out.getvalue()


def _latin1(text: str) -> str:
    """The PDF's built-in font covers Latin-1: anything else prints as '?' rather than failing the report."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def page_pdf(product: Product, entries: list[Entry], *, since: datetime | None, until: datetime | None,
             printed_at: datetime, whole_page: list[Entry]) -> bytes:
    """A printable page of the register (A4 landscape): who, what, how much and the balance after each entry, with
    whether the page's hash chain verifies."""
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, f"Controlled drugs register: {product.drug} {product.strength}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    period = f"{_when(since) if since else 'the first entry'} to {_when(until) if until else 'now'}"
    broken = verify_page(product.code, whole_page)
    pdf.multi_cell(0, 5, f"Product {product.code} ({product.form}; {product.mg_per_unit} mg per {product.unit}). "
                         f"Entries recorded from {period}. Printed {_when(printed_at)} UTC. Hash chain: "
                         f"{'verified' if broken is None else f'BROKEN at entry {broken.seq} ({broken.why})'}.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", size=8)
    headings = ("No.", "Date and time", "Entry", "Amount (mg)", "Balance (mg)", f"Balance ({product.unit}s)",
                "Batch", "Supplier / client pathway", "By", "Witness", "Reason / refers to")
    with pdf.table(col_widths=(8, 24, 20, 18, 18, 16, 18, 44, 16, 16, 42), headings_style=FontFace(emphasis="BOLD"),
                   text_align="LEFT") as table:
        table.row(headings)
        for e in entries:
            table.row([_latin1(cell) for cell in (
                str(e.seq), _when(e.occurred_at), e.kind.value, f"{e.amount_mg:+}", str(e.balance_mg),
                _units(product, e), e.batch or "", e.supplier or (str(e.pathway_id) if e.pathway_id else ""),
                e.recorded_by, e.witnessed_by or "NOT WITNESSED",
                " ".join(filter(None, (e.reason, str(e.relates_to) if e.relates_to else None))))])
    return bytes(pdf.output())
