"""The platforms file: read over the built-in platforms, every mistake one line naming the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.platforms import BUILTIN_PLATFORMS
from domain.platforms import KNOWN_PLATFORMS
from domain.platforms import Platform
from infrastructure.platforms_file import PlatformsFileError
from infrastructure.platforms_file import load_platforms
from infrastructure.settings import SettingsError
from infrastructure.settings import load_settings

EXAMPLE = """
[[platform]]
key = "amazon"                       # the platform's key, as in statistics and tokens
name = "Amazon"                      # display name
aliases = ["amazon.fr", "Amazon EU", "AMZN Sellers"] # names a report may use
contacts = ["p2b-contact@amazon.example"]
portal = true                        # may use the portal

[[platform]]
key = "la_belle_boutique"
name = "La Belle Boutique"
aliases = ["labelleboutique.fr"]
contacts = ["litiges@labelleboutique.example", "P2B@LaBelleBoutique.example"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "platforms.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_file_the_built_in_platforms_have_no_contact_and_no_portal() -> None:
    directory = load_platforms(None)
    assert {p.key for p in directory} == set(KNOWN_PLATFORMS)
    assert all(p.contacts == () and p.portal is False for p in directory)
    assert directory.find("Amazon Marketplace") == directory.get("amazon")


def test_the_file_gives_contacts_and_the_portal_and_adds_platforms(tmp_path: Path) -> None:
    directory = load_platforms(write(tmp_path, EXAMPLE))
    amazon = directory.get("amazon")
    assert amazon is not None
    assert (amazon.name, amazon.contacts, amazon.portal) == (
        "Amazon",
        ("p2b-contact@amazon.example",),
        True,
    )
    for written in ("amazon.fr", "Amazon EU", "amzn sellers", "Seller Central", "AMAZON"):
        assert directory.key_of(written) == "amazon", written  # the built-in spellings kept
    shop = directory.find("https://www.labelleboutique.fr/")
    assert shop is not None
    assert shop.key == "la_belle_boutique"
    assert directory.find("La Belle Boutique") == shop
    assert shop.contacts == (
        "litiges@labelleboutique.example",
        "P2B@labelleboutique.example",  # the domain part lower-cased, as every address
    )
    assert shop.portal is False
    assert directory.display_name("la_belle_boutique") == "La Belle Boutique"
    assert directory.get("cdiscount") == BUILTIN_PLATFORMS.get("cdiscount")
    assert directory.key_of("Some New Marketplace") == "some_new_marketplace"
    assert Platform.parse("AMZN Sellers", directory).key == "amazon"
    assert Platform.parse("AMZN Sellers").key == "amzn_sellers"  # the built-in directory


def test_the_example_in_the_repository_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "platforms.toml"
    directory = load_platforms(example)
    assert {p.key for p in directory if p.portal} == {"amazon", "la_belle_boutique"}
    assert directory.key_of("Amazon EU") == "amazon"
    cdiscount = directory.get("cdiscount")
    assert cdiscount is not None
    assert len(cdiscount.contacts) == 2
    assert directory.key_of("c-discount") == "cdiscount"


def test_a_file_may_rename_a_built_in_platform(tmp_path: Path) -> None:
    directory = load_platforms(write(tmp_path, '[[platform]]\nkey = "meta"\nname = "Meta (FB)"'))
    assert directory.display_name("meta") == "Meta (FB)"
    assert directory.key_of("instagram") == "meta"


def test_an_empty_file_is_the_built_in_platforms(tmp_path: Path) -> None:
    assert {p.key for p in load_platforms(write(tmp_path, ""))} == set(KNOWN_PLATFORMS)


ENTRY = '[[platform]]\nkey = "amazon"\nname = "Amazon"\n'
OTHER = '[[platform]]\nkey = "shop"\nname = "Shop"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[platform]\n", "not TOML: "),
        ('[platforms]\nkey = "a"\n', 'unknown table "platforms": the file holds [[platform]]'),
        ('platform = "amazon"\n', "platform: write each one as a [[platform]] table"),
        ("platform = [1]\n", "platform 1: write each one as a [[platform]] table"),
        (ENTRY + 'contact = ["a@b.example"]\n', 'platform 1 ("amazon"): contact: unknown field'),
        ('[[platform]]\nname = "Amazon"\n', "platform 1: key: missing"),
        ('[[platform]]\nkey = "amazon"\n', 'platform 1 ("amazon"): name: missing'),
        (
            '[[platform]]\nkey = "Amazon FR"\nname = "Amazon"\n',
            'platform 1 ("Amazon FR"): key: not a key (lower-case letters, digits and "_"): '
            '"Amazon FR"',
        ),
        ('[[platform]]\nkey = 7\nname = "Amazon"\n', "platform 1: key: not a key"),
        ('[[platform]]\nkey = "amazon"\nname = " "\n', 'name: not a platform name: " "'),
        ('[[platform]]\nkey = "amazon"\nname = 1\n', "name: text, not 1"),
        (ENTRY + 'aliases = "amazon.fr"\n', 'aliases: a list, as ["…", "…"], not "amazon.fr"'),
        (ENTRY + 'aliases = ["ok", "!!"]\n', 'aliases: not a platform name: "!!"'),
        (ENTRY + "aliases = [3]\n", "aliases: text, not 3"),
        (ENTRY + 'contacts = "a@b.example"\n', 'contacts: a list, as ["…", "…"]'),
        (
            OTHER + ENTRY + 'contacts = ["foo"]\n',
            'platform 2 ("amazon"): contacts: not an e-mail address: "foo"',
        ),
        (ENTRY + "contacts = [1]\n", "contacts: not an e-mail address: 1"),
        (
            ENTRY + 'contacts = ["a@b.example", "a@B.example"]\n',
            'contacts: "a@B.example" is given twice',
        ),
        (ENTRY + 'portal = "yes"\n', 'platform 1 ("amazon"): portal: true or false, not "yes"'),
        (ENTRY + OTHER + ENTRY, 'platform 3 ("amazon"): key: "amazon" is already platform 1'),
        (
            OTHER + 'aliases = ["Amazon.fr"]\n',
            'platform 1 ("shop"): aliases: the name "amazon-fr" already names the platform '
            '"amazon"',
        ),
        (
            OTHER + '[[platform]]\nkey = "store"\nname = "SHOP"\n',
            'platform 2 ("store"): name: the name "shop" already names the platform "shop"',
        ),
        (
            '[[platform]]\nkey = "fnac"\nname = "Fnac"\n',
            'platform 1 ("fnac"): key: the name "fnac" already names the platform "fnac_darty"',
        ),
    ],
)
def test_each_mistake_is_one_line_naming_the_file_and_the_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PlatformsFileError) as raised:
        load_platforms(path)
    assert str(raised.value).startswith(f"platforms file {path}: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_file_that_cannot_be_read_or_is_not_utf8(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    with pytest.raises(PlatformsFileError, match=r"absent\.toml: cannot be read \(No such file"):
        load_platforms(missing)
    latin = tmp_path / "latin.toml"
    latin.write_bytes('[[platform]]\nkey = "a"\nname = "Société"\n'.encode("latin-1"))
    with pytest.raises(PlatformsFileError, match=r"latin\.toml: not UTF-8 text"):
        load_platforms(latin)


def test_the_setting_reads_the_file_at_start_and_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEDIATION_PLATFORMS_FILE", raising=False)
    assert load_settings().platforms is BUILTIN_PLATFORMS
    monkeypatch.setenv("MEDIATION_PLATFORMS_FILE", str(write(tmp_path, EXAMPLE)))
    amazon = load_settings().platforms.get("amazon")
    assert amazon is not None
    assert amazon.portal
    monkeypatch.setenv("MEDIATION_PLATFORMS_FILE", str(write(tmp_path, ENTRY + "portal = 1\n")))
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == (
        f"MEDIATION_PLATFORMS_FILE: platforms file {tmp_path / 'platforms.toml'}: "
        'platform 1 ("amazon"): portal: true or false, not 1'
    )
