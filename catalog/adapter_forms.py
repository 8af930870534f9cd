"""An adapter's configuration as form fields, built from its type's JSON Schema.

Each schema property becomes one field: its ``title`` is the label, its ``description``
the help text, an ``enum`` a choice list, ``minimum``/``maximum`` bounds, the type's
default config the initial value. Fields that only some transports use carry the schema's
``x-transports`` annotation, and adapter_form.js shows them only for those. Lists are typed
comma-separated. The fields only read and convert values; whether a config is valid is
decided by ``catalog.services.adapter_config_problems``, the rule every save applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape

from catalog.models import Adapter, AdapterType
from catalog.ports import PortChoice, port_choices
from catalog.services import adapter_config_problems

PREFIX = "config__"
# Set elsewhere in the form, not in the config: the adapter's own poll interval field, and
# the type (the adapter type field).
NOT_IN_FORM = {"type", "poll_interval_s"}


def field_name(key: str) -> str:
    return PREFIX + key


def label_for(key: str, prop: Mapping[str, Any]) -> str:
    return str(prop.get("title") or key.replace("_", " ").capitalize())


class PortInput(forms.TextInput):
    """A text box that suggests ports (an HTML datalist) but accepts any path."""

    template_name = "catalog/port_input.html"

    def __init__(self, ports: Iterable[PortChoice], attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.ports = list(ports)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["list"] = f"{context['widget']['attrs'].get('id', name)}-ports"
        context["ports"] = self.ports
        return context


class ListField(forms.CharField):
    """A JSON array typed as comma-separated values (integers when the items are)."""

    def __init__(self, *, integers: bool, **kwargs: Any) -> None:
        self.integers = integers
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        items = [item.strip() for item in str(text).split(",") if item.strip()]
        if not self.integers:
            return items
        try:
            return [int(item) for item in items]
        except ValueError:
            raise forms.ValidationError("Enter whole numbers separated by commas.") from None


def _choice_field(prop: Mapping[str, Any], **common: Any) -> forms.Field:
    values = list(prop["enum"])
    choices = [(str(v), str(v)) for v in values]
    if not common["required"] and common.get("initial") is None:
        choices.insert(0, ("", "—"))
    by_text = {str(v): v for v in values}
    return forms.TypedChoiceField(choices=choices, coerce=lambda text: by_text.get(text, text),
                                  empty_value=None, **common)


def field_for(key: str, prop: Mapping[str, Any], *, required: bool, initial: Any,
              ports: Iterable[PortChoice]) -> forms.Field:
    """The form field of one schema property."""
    transports = prop.get("x-transports")
    attrs = {"data-config-key": key}
    if transports:
        attrs["data-transports"] = " ".join(transports)
    # The admin renders help texts as HTML: the schema's text is escaped first.
    common: dict[str, Any] = {"label": label_for(key, prop), "help_text": escape(prop.get("description", "")),
                              "required": required, "initial": initial}
    kind = prop.get("type")
    if "enum" in prop:
        field = _choice_field(prop, **common)
    elif key == "serial_port":
        field = forms.CharField(widget=PortInput(ports), **common)
    elif kind == "integer":
        # Bounds are the schema's to check (one rule, one place): the field only converts.
        field = forms.IntegerField(**common)
    elif kind == "number":
        field = forms.FloatField(**common)
    elif kind == "boolean":
        field = forms.BooleanField(**{**common, "required": False})
    elif kind == "array":
        integers = (prop.get("items") or {}).get("type") == "integer"
        field = ListField(integers=integers, **common)
        field.help_text = (field.help_text + " " if field.help_text else "") + "Separate values with commas."
    else:
        field = forms.CharField(**common)
    field.widget.attrs.update(attrs)
    return field


def config_fields(schema: Mapping[str, Any], defaults: Mapping[str, Any],
                  ports: Iterable[PortChoice] = ()) -> dict[str, forms.Field]:
    """One field per schema property, in schema order, named ``config__<key>``.

    A property is required in the form only when the schema requires it outright; required
    "for this transport" is left to the validation, which names the field.
    """
    required = set(schema.get("required", []))
    ports = list(ports)
    shown = [(key, prop) for key, prop in (schema.get("properties") or {}).items() if key not in NOT_IN_FORM]
    return {field_name(key): field_for(key, prop, required=key in required and key not in defaults,
                                       initial=defaults.get(key), ports=ports)
            for key, prop in sorted(shown, key=lambda item: _position(*item))}


def _position(key: str, prop: Mapping[str, Any]) -> int:
    """The transport first, then where to reach the device, then how to talk to it; timeouts last."""
    if key == "transport":
        return 0
    if prop.get("x-transports") or key in ("serial_port", "host", "port", "bt_addresses"):
        return 1
    return 3 if key == "timeout" else 2


def used_by(field: forms.Field, transport: Any) -> bool:
    """Does the chosen transport use this field? (Fields without ``x-transports`` are always used.)"""
    transports = field.widget.attrs.get("data-transports")
    return not transports or transport is None or str(transport) in transports.split()


class PrettyJSONWidget(forms.Textarea):
    """Shows JSON indented so adapter configs are readable and editable."""

    def format_value(self, value: Any) -> str:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return json.dumps(value, indent=2, sort_keys=True)


class AdapterForm(forms.ModelForm):
    """The adapter's fields; :func:`adapter_form_class` adds its type's connection fields."""

    edit_json = forms.BooleanField(
        required=False, label="Edit as JSON",
        help_text="Save the JSON below instead of the Connection fields above. Both are checked by the "
        "same rules.")
    config_type: str = ""
    config_field_names: tuple[str, ...] = ()

    class Meta:
        model = Adapter
        fields = ("adapter_id", "adapter_type", "name", "config_json", "device_category", "device_id",
                  "device_type", "priority", "enabled", "poll_interval_s", "collector")
        widgets = {"config_json": PrettyJSONWidget(attrs={"rows": 14, "cols": 80})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["config_json"].required = False
        self._config_checked = False
        if self.config_type:
            self.initial.setdefault("adapter_type", self.config_type)
        instance = self.instance
        if instance.pk and instance.adapter_type_id == self.config_type:
            for key, value in (instance.config_json or {}).items():
                if field_name(key) in self.fields:
                    self.initial[field_name(key)] = value

    def _config_from_fields(self, cleaned: Mapping[str, Any]) -> dict[str, Any]:
        transport = cleaned.get(field_name("transport"))
        names = [n for n in self.config_field_names if used_by(self.fields[n], transport)]
        return config_from(cleaned, names, self.instance.config_json or {})

    def _check_config(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        # The JSON is used when asked for, or when no connection field was sent at all (a
        # script posting config_json alone).
        posted = any(name in self.data for name in self.config_field_names)
        as_json = bool(cleaned.get("edit_json")) or not posted
        config = cleaned.get("config_json") if as_json else self._config_from_fields(cleaned)
        if config is None:
            config = {}
        for key, problems in adapter_config_problems(self.config_type, config).items():
            target = field_name(key) if not as_json and field_name(key) in self.fields else "config_json"
            for problem in problems:
                prefix = f"{key}: " if target == "config_json" and key and not problem.startswith(key) else ""
                if target not in self.errors or prefix + problem not in self.errors[target]:
                    self.add_error(target, prefix + problem)
        self._config_checked = True
        return config

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.config_type:
            cleaned["config_json"] = self._check_config(cleaned)
        return cleaned

    def _update_errors(self, errors: ValidationError) -> None:
        # Adapter.clean() checks the config again on save, by the same rule; its messages are
        # already on the fields they concern.
        if self._config_checked and hasattr(errors, "error_dict"):
            errors.error_dict.pop("config_json", None)
            if not errors.error_dict:
                return
        super()._update_errors(errors)  # type: ignore[misc]

    def config_for_test(self) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """The config the form holds, and the problems of its connection fields (by field name)."""
        self.full_clean()
        config = self.cleaned_data.get("config_json") or {}
        wanted = {*self.config_field_names, "config_json", "adapter_type", "edit_json"}
        errors = {name: [str(e) for e in errs] for name, errs in self.errors.items() if name in wanted}
        return config, errors


def adapter_form_class(type_row: AdapterType | None) -> type[AdapterForm]:
    """:class:`AdapterForm` with the connection fields of ``type_row`` (none without a type)."""
    if type_row is None:
        return AdapterForm
    fields = config_fields(type_row.config_schema or {}, type_row.default_config or {}, port_choices())
    attrs: dict[str, Any] = {**fields, "config_type": type_row.adapter_type,
                             "config_field_names": tuple(fields)}
    return type(f"{type_row.adapter_type.title()}AdapterForm", (AdapterForm,), attrs)


def config_from(cleaned: Mapping[str, Any], fields: Iterable[str], keep: Mapping[str, Any]) -> dict[str, Any]:
    """The config the fields describe: empty fields are left out (the type's default applies).

    ``keep`` carries the keys the form does not show (``poll_interval_s`` in old configs).
    """
    config = {key: value for key, value in keep.items() if key in NOT_IN_FORM - {"type"}}
    for name in fields:
        value = cleaned.get(name)
        if value is None or value == "" or value == []:
            continue
        config[name.removeprefix(PREFIX)] = value
    return config
