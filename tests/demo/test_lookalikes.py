from kehu.demo.lookalikes import variant


def test_a_lookalike_keeps_the_surname_and_swaps_a_given_name_character_for_a_homophone():
    assert variant("张伟") == "张玮"
    assert variant("王丽娜") == "王丽纳"  # the last replaceable character
    assert variant("伟") == "伟"  # a surname alone is kept
    assert variant("欧阳") == "欧阳"  # nothing replaceable: unchanged
