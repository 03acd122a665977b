"""The signed consent as a PDF (SPEC §5): exactly what the patient signed, frozen at signing.

The document's title and full text as stored (line for line), its version and SHA-256, and the
signature's record: the name the patient typed, the time in UTC and in the office's time with its
zone named, the method, the IP address and the browser. Labels are in the document's language.

The font is DejaVu Sans, shipped in `workflow/fonts/` and embedded (subset) in each PDF, so that
names and texts beyond Latin-1 (Polish, Czech, Turkish, Greek, Cyrillic…) print on any machine
without a system font. It has no Indic or CJK glyphs and does no Arabic shaping: a character it
cannot draw is written as its code point, [U+092A], with a note saying so (see `_Pdf.drawable`);
the signature row in the database keeps the name as typed.
"""

from __future__ import annotations

import logging
from datetime import UTC
from pathlib import Path

from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace, TTFFont

# The notifications own the wording of a local time for patients: the PDF and the email read alike.
from notifications.events import local_time
from workflow.models import ConsentSignature
from workflow.models.consent import sha256_of

FONTS = Path(__file__).resolve().parent / "fonts"
# fpdf2 subsets the font with fontTools, which logs each step at INFO: noise in every signing.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)
FAMILY = "DejaVuSans"
MARGIN = 18  # mm
LABEL_WIDTH = 50  # mm
# Small enough that a SHA-256 (64 hex digits) stays on one line, to be read and compared whole.
HASH_SIZE = 8  # pt


class _Pdf(FPDF):
    footer_text = ""
    # Whether a character the font cannot draw was written as its code point (see `drawable`).
    substituted = False

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.footer_text.replace("{page}", str(self.page_no())), align="C")

    def drawable(self, text: str) -> str:
        """The text with each character the font has no glyph for written as [U+XXXX].

        fpdf2 would silently leave such a character out, and a PDF that shows "Priya" for a name
        typed "Priya प्रिया" misstates what was signed; a code point is ugly but exact.
        """
        font = self.fonts[FAMILY.lower()]
        assert isinstance(font, TTFFont)  # noqa: S101 - added from our TTF file above
        cmap = font.cmap
        out = []
        for char in text:
            if ord(char) in cmap or char in "\n\r\t":
                out.append(char)
            else:
                out.append(f"[U+{ord(char):04X}]")
                self.substituted = True
        return "".join(out)


def filename(signature: ConsentSignature) -> str:
    """The PDF's name for the patient and staff: no personal data, only the reference and the version."""
    return f"consent-{signature.application.reference}-v{signature.document_version}-{signature.pk}.pdf"


def render(signature: ConsentSignature) -> bytes:
    """The PDF of one signature. Refuses to print a text whose hash is not the one signed."""
    document = signature.document
    if sha256_of(document.text) != signature.document_sha256:
        raise ValueError(f"Consent document {document.pk} no longer has the text signature {signature.pk} signed.")
    application = signature.application
    office = application.office
    with translation.override(document.language):
        language = translation.get_language()
        rows = [
            (
                _("Document"),
                _("%(title)s, version %(version)s (%(language)s)")
                % {
                    "title": document.title,
                    "version": signature.document_version,
                    "language": document.language,
                },
            ),
            (_("SHA-256 of the text"), signature.document_sha256),
            (_("Signed by (full name as typed)"), signature.signer_name),
            (_("Signed at (UTC)"), f"{signature.signed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"),
            (_("Signed at (office time)"), local_time(application, signature.signed_at, language)),
            (_("Method"), _method(signature)),
            (_("IP address"), signature.ip_address or _("not recorded")),
            (_("Browser"), signature.user_agent or _("not recorded")),
        ]
        subtitle = _("Signed copy of the consent form · application %(reference)s · %(office)s office") % {
            "reference": application.reference,
            "office": office.name,
        }
        heading = _("Signature")
        substituted_note = _(
            "Characters this PDF's font cannot draw are written as their Unicode code points, [U+…]; "
            "the clinic's record keeps the text as typed."
        )
        note = _(
            "The SHA-256 above is computed from the document text printed on these pages, character for character."
        )
        footer = _("Application %(reference)s · consent version %(version)s · page %(page)s of %(pages)s") % {
            "reference": application.reference,
            "version": signature.document_version,
            "page": "{page}",
            "pages": "{nb}",
        }

    pdf = _Pdf(format="A4")
    pdf.footer_text = footer
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=18)
    # The signing instant, not the rendering's: the same signature always gives the same file.
    pdf.set_creation_date(signature.signed_at)
    pdf.set_title(document.title)
    pdf.set_subject(subtitle)
    pdf.set_author(f"{office.name} office of the clinic")
    pdf.set_lang(document.language)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()

    pdf.set_font(FAMILY, "B", 14)
    _paragraph(pdf, document.title, height=7)
    pdf.set_font(FAMILY, "", 8.5)
    pdf.set_text_color(90, 90, 90)
    _paragraph(pdf, subtitle, height=5)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(4)

    # The text as stored, line for line: a long line wraps, none is joined or reflowed.
    pdf.set_font(FAMILY, "", 9.5)
    _paragraph(pdf, document.text.rstrip("\n"), height=4.8)
    pdf.ln(5)

    pdf.set_draw_color(120, 120, 120)
    pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
    pdf.ln(3)
    pdf.set_font(FAMILY, "B", 11)
    _paragraph(pdf, heading, height=7)
    pdf.set_font(FAMILY, "", 9)
    with pdf.table(
        col_widths=(LABEL_WIDTH, pdf.epw - LABEL_WIDTH),
        first_row_as_headings=False,
        borders_layout="NONE",
        text_align="LEFT",
        line_height=5,
        padding=(0.6, 0),
    ) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label, style=FontFace(emphasis="BOLD"))
            row.cell(
                pdf.drawable(value), style=FontFace(size_pt=HASH_SIZE) if value == signature.document_sha256 else None
            )
    pdf.ln(2)
    pdf.set_font(FAMILY, "", 8)
    _paragraph(pdf, note, height=4.5)
    if pdf.substituted:
        _paragraph(pdf, substituted_note, height=4.5)
    return bytes(pdf.output())


def _paragraph(pdf: _Pdf, text: str, *, height: float) -> None:
    # Left-aligned: fpdf2 justifies by default, which stretches the short last line of a paragraph.
    pdf.multi_cell(0, height, pdf.drawable(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _method(signature: ConsentSignature) -> str:
    if signature.method == ConsentSignature.Method.PORTAL:
        return _("Electronic signature in the patient portal")
    return _("Paper form, recorded by staff")
