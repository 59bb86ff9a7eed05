"""The batch forms of the contact normalizers (used by the household import) give what the single ones give."""
import pytest

from canvass.normalize import clean_email, clean_emails, clean_phone, clean_phones, name_key, name_keys

PHONES = ["312-555-0100", "(312) 555 0100", "1 312 555 0100", "+44 20 7946 0958", "", "   ", "555-0100", "call me",
          "2 312 555 0100", "312.555.0100 ext 4", "+1 (773) 555-0199", "٣١٢٥٥٥٠١٠٠", "１２３４５６７８９０"]
EMAILS = ["Ana@Example.org", "  bo@example.net ", "", "  ", "no-at-sign", "two@@example.org", "a@b", "x@y.z",
          "a b@example.org", "ÜNÏ@exämple.de", "a@" + "b" * 260 + ".org"]
NAMES = [("José", "O'Brien"), ("", ""), ("ANA", ""), ("", "Nguyễn"), ("Mary-Jane", "St. John"), ("  ", "x"),
         ("Zoë", "Ødegård"), ("李", "小龍")]


def single_results(clean, raws):
    values, refused = [], []
    for j, raw in enumerate(raws):
        try:
            values.append(clean(raw))
        except ValueError:
            values.append(None)
            refused.append(j)
    return values, refused


@pytest.mark.parametrize(("single", "batch", "raws"), [(clean_phone, clean_phones, PHONES),
                                                       (clean_email, clean_emails, EMAILS)])
def test_a_batch_cleans_and_refuses_what_one_by_one_does(single, batch, raws):
    expected = single_results(single, raws)
    assert expected[1], "the sample must hold values the cleaner refuses"
    assert batch(raws) == expected


def test_name_keys_are_the_name_key_of_each_pair():
    firsts, lasts = zip(*NAMES)
    assert name_keys(firsts, lasts) == [name_key(first, last) for first, last in NAMES]
    assert name_keys([], []) == []
