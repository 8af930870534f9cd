"""Model serializers that speak the spec's column names and write through a domain service.

* Field names are database column names (``system_id``, ``array_id``), as in the spec, SQL and
  YAML: a foreign key ``system`` stored in column ``system_id`` is the field ``system_id``.
* ``create``/``update`` build the instance and hand it to the app's save service, which runs
  the model's validation. The serializer adds none of its own (DRF's copies of the model's
  unique checks are switched off), so each rule lives in the model or service alone.
* The service's Django ``ValidationError`` comes back as a DRF 400 keyed by the API field name.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.validators import UniqueValidator

from solarmon.api.exceptions import django_validation_detail


class ServiceModelSerializer(serializers.ModelSerializer):
    """Base for writable resources: column-named fields, writes through ``save_service``.

    Subclasses implement ``save_instance`` by calling their app's service, which validates
    and saves one model instance and raises Django's ``ValidationError``.
    """

    def save_instance(self, instance: models.Model) -> models.Model:
        """Validate and save through the app's service (e.g. ``catalog.services.save_entity``)."""
        raise NotImplementedError

    def _model(self) -> type[models.Model]:
        return cast("type[models.Model]", self.Meta.model)

    # ---- field names: database columns ------------------------------------------------
    def get_extra_kwargs(self) -> dict[str, Any]:
        extra: dict[str, Any] = super().get_extra_kwargs()
        declared = getattr(self.Meta, "fields", ())
        for field in self._model()._meta.concrete_fields:
            if field.column != field.name and field.column in declared:
                extra.setdefault(field.column, {}).setdefault("source", field.name)
        return extra

    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = super().get_fields()
        for field in fields.values():
            field.validators = [v for v in field.validators if not isinstance(v, UniqueValidator)]
        return fields

    def get_validators(self) -> list[Any]:
        # Unique and constraint checks run in the model's full_clean() inside the service.
        return list(getattr(self.Meta, "validators", ()))

    # ---- writes -------------------------------------------------------------------------
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        pk_name = self._model()._meta.pk.name
        if self.instance is not None and pk_name in attrs and attrs[pk_name] != self.instance.pk:
            raise serializers.ValidationError(
                {self._api_name(pk_name): ["Ids cannot be changed; create a new row instead."]})
        return attrs

    def create(self, validated_data: dict[str, Any]) -> models.Model:
        return self._save(self._model()(**validated_data))

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self._save(instance)

    def _save(self, instance: models.Model) -> models.Model:
        try:
            return self.save_instance(instance)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(self._api_errors(exc)) from None

    def _api_errors(self, exc: DjangoValidationError) -> dict[str, list[str]]:
        """Re-key the model's errors (model field names) by the API's field names."""
        errors: dict[str, list[str]] = {}
        for name, messages in django_validation_detail(exc).items():
            errors.setdefault(self._api_name(name), []).extend(messages)
        return errors

    def _api_name(self, model_name: str) -> str:
        if model_name == api_settings.NON_FIELD_ERRORS_KEY:
            return model_name
        for api_name, api_field in self.fields.items():
            if api_field.source == model_name:
                return api_name
        try:
            model_field = self._model()._meta.get_field(model_name)
        except FieldDoesNotExist:
            return model_name
        return str(getattr(model_field, "column", None) or model_name)
