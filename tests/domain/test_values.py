"""Validation of every value a report or a command carries."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValue
from domain.platforms import KNOWN_PLATFORMS
from domain.platforms import Platform
from domain.platforms import platform_key
from domain.values import CATEGORY_LABELS
from domain.values import MAX_TEXT_LENGTH
from domain.values import Category
from domain.values import PersonalText
from domain.values import Siren
from domain.values import TrackingCode
from domain.values import check_past_date
from domain.values import clean_text
from domain.values import luhn_is_valid
from domain.values import parse_email
from domain.values import parse_p2b_article


def luhn_digit(first_eight: str) -> str:
    """The ninth digit that makes a SIREN valid, computed independently of the code under test:
    try each digit and keep the one whose weighted sum is a multiple of 10."""
    for candidate in "0123456789":
        digits = [int(c) for c in first_eight + candidate]
        total = 0
        for position, digit in enumerate(digits):
            weighted = digit * (2 if position % 2 == 1 else 1)
            total += weighted // 10 + weighted % 10
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


class TestSiren:
    @pytest.mark.parametrize("text", ["732829320", "732 829 320", "732-829-320", "552100554"])
    def test_valid_numbers_in_their_written_forms_are_accepted(self, text: str) -> None:
        assert Siren.parse(text).value == text.replace(" ", "").replace("-", "")

    @pytest.mark.parametrize("text", ["732829321", "732829330", "123456789", "552100555"])
    def test_a_bad_checksum_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidValue, match="checksum") as raised:
            Siren.parse(text)
        assert raised.value.field == "siren"

    @pytest.mark.parametrize(
        "text", ["", "73282932", "7328293200", "73282932a", "７３２８２９３２０"]
    )
    def test_anything_but_nine_digits_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidValue, match="9 digits"):
            Siren.parse(text)

    def test_the_checksum_is_luhn(self) -> None:
        assert luhn_is_valid("356000000")  # La Poste
        assert not luhn_is_valid("356000001")

    @given(st.text(alphabet="0123456789", min_size=8, max_size=8))
    def test_every_number_with_its_luhn_digit_is_valid(self, first_eight: str) -> None:
        assert Siren(first_eight + luhn_digit(first_eight)).value.startswith(first_eight)

    @given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.sampled_from("0123456789"))
    def test_every_other_ninth_digit_is_refused(self, first_eight: str, last: str) -> None:
        if last == luhn_digit(first_eight):
            return
        with pytest.raises(InvalidValue):
            Siren(first_eight + last)


class TestEmail:
    @pytest.mark.parametrize(
        ("text", "kept"),
        [
            ("jeanne@atelier.fr", "jeanne@atelier.fr"),
            ("  Jeanne.Dupont+p2b@Atelier-Dupont.FR ", "Jeanne.Dupont+p2b@atelier-dupont.fr"),
        ],
    )
    def test_a_valid_address_is_kept_with_its_domain_lower_cased(
        self, text: str, kept: str
    ) -> None:
        assert parse_email(text) == PersonalText(kept)

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "jeanne",
            "jeanne@",
            "@atelier.fr",
            "jeanne@atelier",
            "je anne@atelier.fr",
            "jeanne@@atelier.fr",
            "jeanne..d@atelier.fr",
            "a" * 65 + "@atelier.fr",
            "jeanne@" + "a" * 250 + ".fr",
        ],
    )
    def test_an_invalid_address_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidValue) as raised:
            parse_email(text)
        assert raised.value.field == "contact_email"

    def test_personal_text_never_shows_its_content_in_a_repr(self) -> None:
        assert "jeanne" not in repr(parse_email("jeanne@atelier.fr"))


class TestPlatform:
    @pytest.mark.parametrize(
        ("written", "key"),
        [
            ("Amazon", "amazon"),
            ("amazon.fr", "amazon"),
            ("Amazon Marketplace", "amazon"),
            ("https://www.amazon.fr/sp?seller=1", "amazon"),
            ("AMAZON.COM", "amazon"),
            ("Cdiscount", "cdiscount"),
            ("cdiscount.com", "cdiscount"),
            ("eBay", "ebay"),
            ("ebay.fr", "ebay"),
            ("Fnac", "fnac_darty"),
            ("Darty", "fnac_darty"),
            ("Fnac Darty", "fnac_darty"),
            ("Rakuten", "rakuten"),
            ("PriceMinister", "rakuten"),
            ("ManoMano", "manomano"),
            ("Mano Mano", "manomano"),
            ("Leboncoin", "leboncoin"),
            ("Le Bon Coin", "leboncoin"),
            ("leboncoin.fr", "leboncoin"),
            ("Etsy", "etsy"),
            ("Google Shopping", "google_shopping"),
            ("Google Merchant Center", "google_shopping"),
            ("Apple App Store", "apple_app_store"),
            ("App Store", "apple_app_store"),
            ("Google Play", "google_play"),
            ("Play Store", "google_play"),
            ("Booking.com", "booking_com"),
            ("Booking", "booking_com"),
            ("Airbnb", "airbnb"),
            ("Uber Eats", "uber_eats"),
            ("UberEats", "uber_eats"),
            ("Deliveroo", "deliveroo"),
        ],
    )
    def test_aliases_of_common_marketplaces_share_one_key(self, written: str, key: str) -> None:
        assert platform_key(written) == key

    @pytest.mark.parametrize(
        ("written", "key"),
        [
            ("Ma Place de Marché", "ma_place_de_marche"),
            ("  Shöp-Pro!! ", "shop_pro"),
            ("kiosque.example", "kiosque_example"),
        ],
    )
    def test_an_unknown_platform_is_kept_as_a_clean_slug(self, written: str, key: str) -> None:
        assert platform_key(written) == key

    @pytest.mark.parametrize("written", ["", "   ", "!!!", "x" * 201])
    def test_a_name_that_names_nothing_is_refused(self, written: str) -> None:
        with pytest.raises(InvalidValue):
            Platform.parse(written)

    def test_the_reported_spelling_is_kept_beside_the_key_as_personal_text(self) -> None:
        platform = Platform.parse(" amazon.fr ")
        assert (platform.key, platform.reported_as, platform.display_name) == (
            "amazon",
            PersonalText("amazon.fr"),
            "Amazon",
        )

    def test_an_unknown_platform_is_named_by_its_key_never_by_what_was_written(self) -> None:
        platform = Platform.parse("La boutique de Jeanne Dupont")
        assert platform.display_name == platform.key == "la_boutique_de_jeanne_dupont"
        assert platform.reported_as == PersonalText("La boutique de Jeanne Dupont")

    def test_every_known_key_is_its_own_alias_target(self) -> None:
        for key, (name, _) in KNOWN_PLATFORMS.items():
            assert platform_key(name) == key
            assert platform_key(key) == key

    @given(st.text(min_size=1, max_size=60))
    def test_a_key_is_stable_under_renormalisation(self, written: str) -> None:
        try:
            key = platform_key(written)
        except InvalidValue:
            return
        assert platform_key(key.replace("_", " ")) == key


class TestTexts:
    def test_text_is_stripped(self) -> None:
        assert clean_text("summary", "  ok \n") == "ok"

    @pytest.mark.parametrize("text", ["", "  ", "x" * (MAX_TEXT_LENGTH + 1), "bell\x07"])
    def test_empty_over_long_or_control_text_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidValue):
            clean_text("summary", text)


class TestCategoriesAndArticles:
    def test_there_are_fourteen_categories_each_with_its_labels(self) -> None:
        assert len(Category) == 14
        assert set(CATEGORY_LABELS) == set(Category)

    @pytest.mark.parametrize(
        ("text", "kept"),
        [
            ("Art. 4(1)", "Art. 4(1)"),
            ("art 4 (1)", "Art. 4(1)"),
            ("Article 11", "Art. 11"),
            ("4(2)", "Art. 4(2)"),
            ("art. 11(1)(b)", "Art. 11(1)(b)"),
        ],
    )
    def test_p2b_articles_are_normalised(self, text: str, kept: str) -> None:
        assert parse_p2b_article(text) == kept

    @pytest.mark.parametrize("text", ["Art. 0", "Art. 20", "Art. 4((", "GDPR 17", ""])
    def test_a_reference_outside_the_regulation_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidValue):
            parse_p2b_article(text)


class TestDates:
    TODAY = date(2026, 3, 2)

    def test_today_and_the_past_are_accepted(self) -> None:
        assert check_past_date("occurred_on", self.TODAY, self.TODAY) == self.TODAY

    @pytest.mark.parametrize("day", [date(2026, 3, 3), date(1999, 12, 31)])
    def test_the_future_and_the_distant_past_are_refused(self, day: date) -> None:
        with pytest.raises(InvalidValue):
            check_past_date("occurred_on", day, self.TODAY)


class TestTrackingCode:
    def test_codes_carry_128_random_bits_and_differ(self) -> None:
        codes = {TrackingCode.new().value for _ in range(1000)}
        assert len(codes) == 1000
        # 26 base32 characters hold 130 bits; the last two are padding of a 16-byte value.
        assert all(len(c) == 26 for c in codes)

    def test_a_code_reads_back_whatever_its_case_and_dashes(self) -> None:
        code = TrackingCode.new()
        assert TrackingCode.parse(str(code).upper()) == code
        assert TrackingCode.parse(str(code).replace("-", " ")) == code

    @pytest.mark.parametrize("text", ["", "abc", "0" * 26, "a" * 27])
    def test_a_malformed_code_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidValue):
            TrackingCode.parse(text)
