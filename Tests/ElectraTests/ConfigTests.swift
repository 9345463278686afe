import Foundation
import Testing

@testable import Electra

struct ConfigTests {
    func decode(_ json: String) throws -> ElectraConfig {
        try ElectraConfig.decode(Data(json.utf8))
    }

    @Test func defaultsAreHFs() throws {
        let c = try decode("{}")
        #expect(c.vocabSize == 30522 && c.embeddingSize == 128 && c.hiddenSize == 256)
        #expect(c.numHiddenLayers == 12 && c.numAttentionHeads == 4 && c.intermediateSize == 1024)
        #expect(c.hiddenAct == .gelu && c.hiddenDropoutProb == 0.1 && c.attentionProbsDropoutProb == 0.1)
        #expect(c.maxPositionEmbeddings == 512 && c.typeVocabSize == 2 && c.layerNormEps == 1e-12)
        #expect(c.initializerRange == 0.02 && c.padTokenId == 0 && c.positionEmbeddingType == .absolute)
        #expect(c.summaryType == .first && c.summaryUseProj && c.summaryActivation == "gelu" && c.summaryLastDropout == 0.1)
        #expect(c.classifierDropout == nil && c.effectiveClassifierDropout == 0.1)
        #expect(c.numLabels == 2 && c.id2label == [0: "LABEL_0", 1: "LABEL_1"] && c.problemType == nil)
        #expect(c.tieWordEmbeddings)
    }

    @Test func unknownFieldsSurviveARoundTrip() throws {
        let c = try decode(#"{"hidden_size": 64, "num_attention_heads": 2, "my_field": {"a": [1, 2]}, "transformers_version": "4.57.6", "id2label": {"0": "neg", "1": "pos"}}"#)
        #expect(c.extra["my_field"] == .object(["a": .array([.number(1), .number(2)])]))
        let again = try ElectraConfig.decode(try c.jsonValue().serialized())
        #expect(again == c)
        #expect(again.label2id == ["neg": 0, "pos": 1])
    }

    @Test func numLabelsAndId2Label() throws {
        #expect(try decode(#"{"num_labels": 5}"#).numLabels == 5)
        #expect(try decode(#"{"num_labels": 1}"#).id2label == [0: "LABEL_0"])
        let c = try decode(#"{"num_labels": 3, "id2label": {"0": "a", "1": "b"}}"#)
        #expect(c.numLabels == 2)
        #expect(c.warnings.count == 1)
    }

    @Test func everyActivationAndPositionTypeParses() throws {
        for name in Activation.supportedNames {
            #expect(try decode(#"{"hidden_act": "\#(name)"}"#).hiddenActName == name)
        }
        for t in PositionEmbeddingType.allCases {
            #expect(try decode(#"{"position_embedding_type": "\#(t.rawValue)"}"#).positionEmbeddingType == t)
        }
    }

    @Test(arguments: [
        (#"{"hidden_size": 100, "num_attention_heads": 3}"#, "not a multiple of num_attention_heads"),
        (#"{"hidden_act": "mish"}"#, "'hidden_act' is \"mish\""),
        (#"{"position_embedding_type": "rotary"}"#, "position_embedding_type"),
        (#"{"hidden_size": "big"}"#, "'hidden_size' must be an integer"),
        (#"{"hidden_size": 0}"#, "'hidden_size' must be positive"),
        (#"{"summary_type": "attn"}"#, "summary_type"),
        (#"{"problem_type": "ranking"}"#, "problem_type"),
        (#"{"hidden_dropout_prob": 1.5}"#, "hidden_dropout_prob"),
        (#"{"pad_token_id": 99999}"#, "pad_token_id"),
        (#"{"is_decoder": true}"#, "'is_decoder' is true: decoder models"),
        (#"{"add_cross_attention": true}"#, "'add_cross_attention' is true"),
        (#"{"num_hidden_layers": 100000000}"#, "refused as a damaged config"),
        (#"{"num_labels": 4000000000000}"#, "'num_labels' is 4000000000000"),
        (#"{"vocab_size": 9999999999}"#, "'vocab_size' is 9999999999"),
        (#"{"vocab_size": 10,"#, "invalid JSON"),
        ("[1, 2]", "JSON object"),
    ])
    func invalidConfigsAreClearErrors(_ json: String, _ expected: String) {
        #expect {
            _ = try decode(json)
        } throws: { error in
            "\(error)".contains(expected) && "\(error)".contains("config.json")
        }
    }
}
