"""The one generator registry: architecture names -> classes, read by the config's choices,
the cards' allow-list and `build_generator`."""

from __future__ import annotations

import dataclasses

import pytest
from billow.errors import InputError
from billow.nets import FastGenerator, GeneratorConfig, PaperGenerator, build_generator
from billow.nets.generators import SmoothGenerator
from billow.nets.registry import (
    GENERATORS,
    architectures,
    build_from_card,
    generator_class,
    register,
)


def test_lookup_by_the_cards_architecture_name():
    assert architectures() == ("fast", "smooth", "paper")
    assert generator_class("fast") is FastGenerator
    assert generator_class("smooth") is SmoothGenerator
    assert generator_class("paper") is PaperGenerator
    for name in architectures():
        g = build_generator(GeneratorConfig(generator=name, dim=2, width=8, blocks=1))
        assert type(g) is GENERATORS[name]
    card = {"module": "billow.nets.generators:generator_from_kwargs",
            "kwargs": {"generator": "smooth", "dim": 2, "width": 8, "blocks": 1}}
    assert type(build_from_card(card, "card.json")) is SmoothGenerator
    with pytest.raises(InputError, match="not one of billow's architectures"):
        generator_class("unet")
    with pytest.raises(InputError, match="not one of billow's architectures"):
        build_from_card({**card, "kwargs": {"generator": "unet"}}, "card.json")


def test_the_config_choices_are_the_registry():
    field = {f.name: f for f in dataclasses.fields(GeneratorConfig)}["generator"]
    assert tuple(field.metadata["choices"]) == architectures()


def test_a_name_cannot_be_registered_for_two_classes():
    register(fast=FastGenerator)  # the same class again: harmless
    with pytest.raises(ValueError, match="twice"):
        register(fast=PaperGenerator)
    assert GENERATORS["fast"] is FastGenerator
