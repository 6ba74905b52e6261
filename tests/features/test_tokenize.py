"""The tokenizer: normalisation, jieba-identical segmentation, term filtering, pickling, batching."""

import pickle

import jieba
import pytest

from features.tokenize import USERDICT, Tokenizer, normalize


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def reference_jieba() -> jieba.Tokenizer:
    reference = jieba.Tokenizer()
    reference.initialize()
    reference.load_userdict(str(USERDICT))
    return reference


def test_normalize_folds_width_case_and_traditional() -> None:
    assert normalize("ＰＬＣ控制與優化，５Ｇ網絡") == "plc控制与优化,5g网络"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("南平市科協(xié)關(guān)于印發(fā)", "南平市科协关于印发"),
        ("科协（xié）工作要點(diǎn)", "科协工作要点"),
        ("學(xue\u0301)會", "学会"),  # a combining acute: NFKC composes it into é first
    ],
)
def test_normalize_strips_inline_pinyin_ruby(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize("text", ["钢(fe)含量", "型号(a)与(b)", "的(de)", "(xié)开头", "3(ā)"])
def test_normalize_keeps_brackets_that_are_not_toned_pinyin_after_a_character(text: str) -> None:
    assert "(" in normalize(text)


def test_pinyin_ruby_does_not_split_terms(tokenizer: Tokenizer) -> None:
    assert tokenizer("南平市科協(xié)學(xué)會(huì)") == tokenizer("南平市科协学会")


def test_segmentation_is_identical_to_jieba_on_real_texts(
    tokenizer: Tokenizer, reference_jieba: jieba.Tokenizer, real_texts: list[str]
) -> None:
    for text in real_texts:
        assert tokenizer.segment(text) == reference_jieba.lcut(normalize(text), HMM=False), text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "，。！",
        "a b c",
        "ab12 3.5 x",
        "T恤和B超",
        "锂电池\r\n正极 材料",
        "c++ 与 c# 的区别",
        "\x00中",
    ],
)
def test_segmentation_is_identical_to_jieba_on_edge_cases(
    tokenizer: Tokenizer, reference_jieba: jieba.Tokenizer, text: str
) -> None:
    assert tokenizer.segment(text) == reference_jieba.lcut(normalize(text), HMM=False)


def test_keeps_latin_and_alphanumeric_terms_lower_cased(tokenizer: Tokenizer) -> None:
    terms = tokenizer("基于PLC与AI的5G工厂，3D打印模具")
    assert {"plc", "ai", "5g", "3d打印", "模具"} <= set(terms)


def test_drops_bare_numbers_but_keeps_numbers_with_latin_units(tokenizer: Tokenizer) -> None:
    terms = tokenizer("2020年建成500kV变电站，效率提高35.5%，共3台")
    assert "500kv" in terms
    assert not {"2020", "35.5", "35.5%", "3"} & set(terms)


def test_stopwords_go_but_signal_words_stay(tokenizer: Tokenizer) -> None:
    terms = tokenizer("我们的企业需要解决焊接工艺问题，实现自动化应用")
    assert {"焊接", "工艺", "问题", "实现", "自动化", "应用"} <= set(terms)
    assert not {"我们", "的", "企业"} & set(terms)


def test_single_characters_only_when_they_name_a_topic(tokenizer: Tokenizer) -> None:
    terms = tokenizer("用钢和铝做的门")
    assert "钢" in terms
    assert "铝" in terms
    assert "门" not in terms
    assert "用" not in terms


def test_domain_dictionary_keeps_terms_whole() -> None:
    text = "研究木材防腐学与林产化学加工学"
    with_dictionary = Tokenizer()(text)
    without = Tokenizer(use_domain_dictionary=False)(text)
    assert "木材防腐学" in with_dictionary
    assert "木材防腐学" not in without


def test_traditional_demand_gives_the_same_terms(tokenizer: Tokenizer) -> None:
    assert tokenizer("南平市科學技術協會關於機器學習") == tokenizer("南平市科学技术协会关于机器学习")


def test_pickles_to_an_equal_working_tokenizer(tokenizer: Tokenizer) -> None:
    clone = pickle.loads(pickle.dumps(tokenizer))
    assert clone == tokenizer
    assert clone("激光焊接机器人") == tokenizer("激光焊接机器人")
    assert len(pickle.dumps(tokenizer)) < 500  # parameters only, never the dictionary


def test_options_change_equality() -> None:
    assert Tokenizer() != Tokenizer(use_stopwords=False)
    assert len({Tokenizer(), Tokenizer(), Tokenizer(use_domain_dictionary=False)}) == 2


def test_tokenize_many_in_processes_equals_serial(tokenizer: Tokenizer, real_texts: list[str]) -> None:
    serial = [tokenizer(t) for t in real_texts]
    assert tokenizer.tokenize_many(real_texts, n_jobs=2, min_chars_for_pool=0) == serial
    assert tokenizer.tokenize_many(real_texts, n_jobs=3, min_chars_for_pool=0) == serial
