import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// Packed sequences (`ElectraInputs.sequenceLengths`, what `electra serve` batches with): every
/// head's outputs for each sequence equal the padded batch's, with absolute and relative
/// positions, in fp32, and what packing cannot do is refused by name.
struct PackedInputsTests {
    static let cases = ["base_gelu_e16_h32", "seqcls_single_silu", "seqcls_regression", "pretraining_relu_e30_h30",
                        "maskedlm_gelu_new_e16_h32", "tokencls_relative_key", "qa_relative_key_query"]

    /// Sequences of different lengths (one of a single token), with a second segment in some.
    static func sequences(vocab: Int) -> [(ids: [Int], types: [Int])] {
        var rng = SystemRandomNumberGenerator()
        return [9, 1, 14, 4, 11].enumerated().map { i, n in
            let ids = (0..<n).map { _ in Int.random(in: 1..<vocab, using: &rng) }
            let types = (0..<n).map { t in i % 2 == 0 && t > n / 2 ? 1 : 0 }
            return (ids, types)
        }
    }

    func load(_ name: String) throws -> any ElectraHeadModel {
        let dir = Fixtures.models.appendingPathComponent(name).appendingPathComponent("model")
        let config = try ElectraConfig.load(from: dir.appendingPathComponent("config.json"))
        return try ElectraTask.fromConfig(config).load(from: dir).model
    }

    /// The per-sequence rows of each output: padded [B, L, ...] against packed [1, N, ...].
    @Test(arguments: cases)
    func packedEqualsPadded(_ name: String) throws {
        let model = try load(name)
        let seqs = Self.sequences(vocab: model.config.vocabSize)
        let L = seqs.map(\.ids.count).max()!
        var ids: [Int] = [], mask: [Int] = [], types: [Int] = []
        for s in seqs {
            ids += s.ids + Array(repeating: 0, count: L - s.ids.count)
            types += s.types + Array(repeating: 0, count: L - s.ids.count)
            mask += Array(repeating: 1, count: s.ids.count) + Array(repeating: 0, count: L - s.ids.count)
        }
        let B = seqs.count
        let padded = try model(ElectraInputs(inputIds: IntTensor(shape: [B, L], values: ids), attentionMask: IntTensor(shape: [B, L], values: mask),
                                             tokenTypeIds: IntTensor(shape: [B, L], values: types)))
        let N = seqs.reduce(0) { $0 + $1.ids.count }
        var packedInputs = ElectraInputs(inputIds: IntTensor(shape: [1, N], values: seqs.flatMap(\.ids)),
                                         tokenTypeIds: IntTensor(shape: [1, N], values: seqs.flatMap(\.types)))
        packedInputs.sequenceLengths = seqs.map(\.ids.count)
        let packed = try model(packedInputs)
        let paddedOut = Dictionary(uniqueKeysWithValues: padded.namedTensors), packedOut = Dictionary(uniqueKeysWithValues: packed.namedTensors)
        #expect(Set(paddedOut.keys) == Set(packedOut.keys), "\(name): \(paddedOut.keys) vs \(packedOut.keys)")
        var worst: Float = 0, compared = 0
        for (key, p) in paddedOut {
            let q = packedOut[key]!
            if p.shape.first == B && q.shape.first == B && (p.shape.count == 2 && p.shape[1] != L) {
                // A sequence head: [B, C] both ways.
                #expect(p.shape == q.shape, "\(name) \(key)")
                for i in 0..<p.count { worst = max(worst, abs(p.pointer[i] - q.pointer[i])) }
                compared += 1
                continue
            }
            // Per token: [B, L, W] (or [B, L]) against [1, N, W].
            #expect(q.shape[0] == 1 && q.shape[1] == N && p.shape.dropFirst(2) == q.shape.dropFirst(2), "\(name) \(key): \(p.shape) vs \(q.shape)")
            let W = p.shape.count == 3 ? p.shape[2] : 1
            var start = 0
            for (b, s) in seqs.enumerated() {
                for i in 0..<(s.ids.count * W) { worst = max(worst, abs(p.pointer[b * L * W + i] - q.pointer[start * W + i])) }
                start += s.ids.count
            }
            compared += 1
        }
        #expect(compared > 0)
        #expect(worst < 1e-5, "\(name): largest difference \(worst)")
    }

    @Test func whatPackingCannotDoIsRefused() throws {
        let model = try load("tokencls_relative_key")
        var inputs = ElectraInputs(inputIds: IntTensor(shape: [1, 6], values: [2, 3, 4, 5, 6, 7]))
        inputs.sequenceLengths = [2, 3]
        #expect(throws: ElectraError.self) { try model(inputs) }  // sums to 5, not 6
        inputs.sequenceLengths = [2, 4]
        #expect(try model(inputs).logits!.shape[1] == 6)
        #expect { try model(inputs, options: ForwardOptions(outputAttentions: true)) } throws: { "\($0)".contains("no attentions") }
        inputs.labels = IntTensor(shape: [1, 6], values: [0, 1, 0, 1, 0, 1])
        #expect { try (model as! ElectraForTokenClassification).forwardBackward(inputs, dropout: nil) } throws: { "\($0)".contains("for inference") }
        // Every training path refuses packing, the generator's masked-LM pass too.
        let mlm = try load("maskedlm_gelu_new_e16_h32") as! ElectraForMaskedLM
        var packed = ElectraInputs(inputIds: IntTensor(shape: [1, 6], values: [2, 3, 4, 5, 6, 7]))
        packed.sequenceLengths = [3, 3]
        #expect { try mlm.maskedLMForwardBackward(packed, positions: [1, 4], targets: [3, 6], dropout: nil) } throws: { "\($0)".contains("for inference") }
        // A span per packed row means nothing: QA labels need padded batches.
        let qa = try load("qa_relative_key_query")
        var spans = packed
        spans.startPositions = IntTensor(shape: [1], values: [1])
        spans.endPositions = IntTensor(shape: [1], values: [2])
        #expect { try qa(spans) } throws: { "\($0)".contains("start_positions/end_positions need padded batches") }
        var two = ElectraInputs(inputIds: IntTensor(shape: [2, 3], values: [2, 3, 4, 5, 6, 7]))
        two.sequenceLengths = [3, 3]
        #expect { try model(two) } throws: { "\($0)".contains("[1, N]") }
        let long = model.config.maxPositionEmbeddings + 1
        var tooLong = ElectraInputs(inputIds: IntTensor(shape: [1, long + 2], values: Array(repeating: 3, count: long + 2)))
        tooLong.sequenceLengths = [long, 2]
        #expect { try model(tooLong) } throws: { "\($0)".contains("exceeds max_position_embeddings") }
        // Packed rows longer than the model's positions in all are fine when each sequence fits.
        var many = ElectraInputs(inputIds: IntTensor(shape: [1, long + 2], values: Array(repeating: 3, count: long + 2)))
        many.sequenceLengths = [long - 1, 3]
        #expect(try model(many).logits!.shape[1] == long + 2)
    }
}
