import Electra
import ElectraKernels
import ElectraTokenizers

extension ElectraInputs {
    /// A padded batch from encodings of any lengths: input_ids padded with `padId` to the longest,
    /// attention_mask 1 on each encoding's own unpadded tokens, token_type_ids from the encodings.
    /// Padding an encoding already carries (a tokenizer.json with fixed padding) stays masked.
    public init(encodings: [Encoding], padId: Int, padTypeId: Int = 0) throws {
        guard !encodings.isEmpty else { throw ElectraError("no encodings to batch") }
        let L = encodings.map(\.count).max()!
        guard L > 0 else { throw ElectraError("every encoding is empty (no tokens)") }
        var ids = [Int](repeating: padId, count: encodings.count * L)
        var mask = [Int](repeating: 0, count: encodings.count * L)
        var types = [Int](repeating: padTypeId, count: encodings.count * L)
        for (b, e) in encodings.enumerated() {
            for t in 0..<e.count {
                ids[b * L + t] = e.ids[t]
                mask[b * L + t] = e.attentionMask.isEmpty ? 1 : e.attentionMask[t]
                types[b * L + t] = e.typeIds.isEmpty ? 0 : e.typeIds[t]
            }
        }
        self.init(inputIds: IntTensor(shape: [encodings.count, L], values: ids),
                  attentionMask: IntTensor(shape: [encodings.count, L], values: mask),
                  tokenTypeIds: IntTensor(shape: [encodings.count, L], values: types))
    }
}

extension ElectraInputs {
    /// Packed sequences from encodings of any lengths: one row of all their tokens, no padding
    /// (`sequenceLengths`); each encoding's outputs equal those it gets alone. A tokenizer's own
    /// padding in an encoding stays masked within it.
    public init(packing encodings: [Encoding]) throws {
        guard !encodings.isEmpty else { throw ElectraError("no encodings to pack") }
        guard encodings.allSatisfy({ $0.count > 0 }) else { throw ElectraError("an encoding is empty (no tokens)") }
        let n = encodings.reduce(0) { $0 + $1.count }
        var ids: [Int] = [], mask: [Int] = [], types: [Int] = []
        ids.reserveCapacity(n); mask.reserveCapacity(n); types.reserveCapacity(n)
        for e in encodings {
            ids += e.ids
            mask += e.attentionMask.isEmpty ? Array(repeating: 1, count: e.count) : e.attentionMask
            types += e.typeIds.isEmpty ? Array(repeating: 0, count: e.count) : e.typeIds
        }
        self.init(inputIds: IntTensor(shape: [1, n], values: ids), attentionMask: IntTensor(shape: [1, n], values: mask),
                  tokenTypeIds: IntTensor(shape: [1, n], values: types))
        sequenceLengths = encodings.map(\.count)
    }
}

/// Runs many encodings through a model in batches of similar length (sorted by length, so little
/// padding), and hands each encoding's rows of the output back by its original index.
struct BatchRunner {
    let batchSize: Int
    let padId: Int
    let progress: (@Sendable (Int, Int) -> Void)?

    init(options: PipelineOptions, padId: Int) {
        batchSize = options.batchSize
        self.padId = padId
        progress = options.progress
    }

    /// `collect(index, row, length, output)`: encoding `index` is row `row` of a batch padded to `length`.
    func run(_ encodings: [Encoding], forward: (ElectraInputs) throws -> ElectraOutput,
             collect: (_ index: Int, _ row: Int, _ length: Int, _ output: ElectraOutput) throws -> Void) throws {
        let order = encodings.indices.sorted { encodings[$0].count < encodings[$1].count }
        var done = 0
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let part = Array(order[start..<min(start + batchSize, order.count)])
            let inputs = try ElectraInputs(encodings: part.map { encodings[$0] }, padId: padId)
            let out = try forward(inputs)
            let L = inputs.inputIds.shape[1]
            for (row, index) in part.enumerated() { try collect(index, row, L, out) }
            done += part.count
            progress?(done, order.count)
        }
    }
}
