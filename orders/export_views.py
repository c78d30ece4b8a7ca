"""Warehouse exports in the back office: history of batches, a new export (file
straight back), downloading a past batch again, and the column template editor.
Everything here needs orders.export; other organizations' campaigns are 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from config.forms import add_refusal
from pledges.selectors import campaign_for

from .errors import OrdersError
from .errors_lock import ExportTemplateUnknown
from .exports.fields import BUILTIN_TEMPLATES, FIELDS, LINE
from .exports.forms import (
    ExportForm,
    TemplateCreateForm,
    apply_editor_action,
    field_choices,
    posted_columns,
)
from .exports.services import (
    batch_rows,
    batches_for,
    create_export_template,
    delete_export_template,
    export_orders,
    template_named,
    templates_for,
    update_export_template,
)
from .exports.writers import CONTENT_TYPES, CSV, csv_chunks, xlsx_tempfile
from .models import ExportBatch, ExportTemplate
from .order_views import orders_context

EXPORT = "orders.export"
INVALID = 400
HISTORY_SIZE = 50


def _file_response(rows, *, fmt: str, filename: str):
    if fmt == CSV:
        response = StreamingHttpResponse(csv_chunks(rows), content_type=CONTENT_TYPES[CSV])
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    return FileResponse(
        xlsx_tempfile(rows),
        as_attachment=True,
        filename=f"{filename}.xlsx",
        content_type=CONTENT_TYPES[fmt],
    )


def _filename(campaign, batch: ExportBatch) -> str:
    return f"{campaign.slug}-export-{batch.pk}-{slugify(batch.template_name)}"


@login_required
@require_http_methods(["GET", "POST"])
def export_list(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=EXPORT)
    templates = templates_for(campaign=campaign)
    form = ExportForm(request.POST or None, templates=templates)
    if request.method == "POST" and form.is_valid():
        try:
            template = template_named(campaign=campaign, name=form.cleaned_data["template"])
            batch, rows = export_orders(
                campaign=campaign,
                template=template,
                fmt=form.cleaned_data["fmt"],
                include_exported=form.cleaned_data["include_exported"],
                actor=request.user,
            )
        except OrdersError as exc:
            add_refusal(form, exc)
        else:
            return _file_response(rows, fmt=batch.format, filename=_filename(campaign, batch))
    context = orders_context(campaign, role, active="order-exports")
    context.update(form=form, batches=batches_for(campaign=campaign)[:HISTORY_SIZE])
    return render(
        request, "orders/exports/list.html", context, status=INVALID if form.errors else 200
    )


@login_required
def export_download(request, slug, batch_id):
    """A past batch again: its orders still locked or later, as they are now; nothing is
    marked."""
    campaign, _role = campaign_for(user=request.user, slug=slug, action=EXPORT)
    batch = get_object_or_404(ExportBatch, pk=batch_id, campaign=campaign)
    try:
        rows = batch_rows(batch=batch)
    except ExportTemplateUnknown as exc:
        raise Http404(exc.message) from exc
    return _file_response(rows, fmt=batch.format, filename=_filename(campaign, batch))


# --- column templates ---------------------------------------------------------------------


def _template(campaign, template_id) -> ExportTemplate:
    return get_object_or_404(ExportTemplate, pk=template_id, campaign=campaign)


@login_required
@require_http_methods(["GET", "POST"])
def export_templates(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=EXPORT)
    form = TemplateCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = create_export_template(
                campaign=campaign,
                name=form.cleaned_data["name"],
                layout=form.cleaned_data["layout"],
                columns=[{"field": "order_number", "header": ""}],
                actor=request.user,
            )
        except OrdersError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Template “{template.name}” created: pick its columns.")
            return redirect("export-template-edit", campaign.slug, template.pk)
    context = orders_context(campaign, role, active="order-exports")
    context.update(
        form=form,
        builtins=[
            {"template": t, "headers": [header for _key, header in t.columns]}
            for t in BUILTIN_TEMPLATES
        ],
        own=ExportTemplate.objects.filter(campaign=campaign).order_by("name"),
    )
    return render(
        request,
        "orders/exports/templates.html",
        context,
        status=INVALID if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def export_template_edit(request, slug, template_id):
    """Choose, rename and order the columns. Every button posts the whole form (works
    without JavaScript): headers typed so far are kept, then the button's move applies."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=EXPORT)
    template = _template(campaign, template_id)
    name, layout, columns = template.name, template.layout, list(template.columns)
    error = None
    if request.method == "POST":
        name = request.POST.get("name", "")
        layout = request.POST.get("layout", layout)
        columns = apply_editor_action(
            posted_columns(request.POST),
            request.POST.get("action", "save"),
            request.POST.get("add_field", ""),
        )
        try:
            update_export_template(template=template, name=name, layout=layout, columns=columns)
        except OrdersError as exc:
            error = exc
        else:
            if request.POST.get("action", "save") == "save":
                messages.success(request, f"Template “{template.name}” saved.")
            return redirect("export-template-edit", campaign.slug, template.pk)
    context = orders_context(campaign, role, active="order-exports")
    context.update(
        template=template,
        name=name,
        layout=layout,
        layouts=ExportTemplate._meta.get_field("layout").choices,
        columns=[
            {
                "field": c.get("field", ""),
                "header": c.get("header", ""),
                "label": FIELDS[c["field"]].label if c.get("field") in FIELDS else c.get("field"),
                "is_line": c.get("field") in FIELDS and FIELDS[c["field"]].level == LINE,
            }
            for c in columns
        ],
        choices=field_choices(layout),
        error=error,
    )
    return render(
        request,
        "orders/exports/template_edit.html",
        context,
        status=INVALID if error else 200,
    )


@login_required
@require_POST
def export_template_delete(request, slug, template_id):
    campaign, _role = campaign_for(user=request.user, slug=slug, action=EXPORT)
    template = _template(campaign, template_id)
    delete_export_template(template=template)
    messages.success(request, f"Template “{template.name}” deleted.")
    return redirect("export-templates", campaign.slug)
