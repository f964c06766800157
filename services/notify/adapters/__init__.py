"""notify's adapters to the outside that are not SMS providers: ``rendering`` (the Jinja2
templates under ``templates/`` into SMS texts and notice documents) and ``notice_pdf`` (a notice
document laid out as a PDF with ReportLab, with the seal box)."""
