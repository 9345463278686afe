import Electra
import ElectraTokenizers
import Foundation

extension ElectraTokenizer {
    /// This tokenizer set up for classification inputs: no padding (batches pad themselves),
    /// longest_first truncation to `maxLength`, whatever tokenizer.json configured.
    public func forClassification(maxLength: Int) -> ElectraTokenizer {
        var tok = self
        tok.padding = nil
        tok.truncation = TruncationOptions(maxLength: maxLength, strategy: .longestFirst, stride: 0, direction: .right)
        return tok
    }
}

/// Tokenized classification examples and the batches built from them (padded to the
/// longest sequence of each batch).
public struct EncodedClassificationSet: Sendable {
    public var ids: [[Int]]
    public var typeIds: [[Int]]
    /// Class ids (single-label) or targets (regression), per example.
    public var labels: [Int]
    public var targets: [Float]
    public var isRegression: Bool
    public var count: Int { ids.count }

    /// Already tokenized data (ids include the special tokens).
    public init(ids: [[Int]], typeIds: [[Int]], labels: [Int]) {
        self.ids = ids
        self.typeIds = typeIds
        self.labels = labels
        targets = []
        isRegression = false
    }

    /// Tokenizes `examples`; labels map through `labelIds` (unknown label: error naming the
    /// file line) unless `regression`.
    public init(_ examples: [TextExample], file: String, tokenizer: ElectraTokenizer, maxLength: Int,
                labelIds: [String: Int], regression: Bool) throws {
        let tok = tokenizer.forClassification(maxLength: maxLength)
        ids = []; typeIds = []; labels = []; targets = []
        isRegression = regression
        for ex in examples {
            let e = try tok.encode(ex.text, pair: ex.pair)
            ids.append(e.ids)
            typeIds.append(e.typeIds)
            if regression {
                guard let v = Float(ex.label) else { throw ElectraError("\(file):\(ex.line): regression label '\(ex.label)' is not a number") }
                targets.append(v)
                labels.append(0)
            } else {
                guard let y = labelIds[ex.label] else {
                    throw ElectraError("\(file):\(ex.line): unknown label '\(ex.label)' (known: \(labelIds.keys.sorted().joined(separator: ", ")))")
                }
                labels.append(y)
            }
        }
    }

    /// Model inputs for the examples at `indices`, padded to the longest (pad id `padId`).
    public func batch(_ indices: ArraySlice<Int>, padId: Int, withLabels: Bool = true) -> ElectraInputs {
        let l = indices.map { ids[$0].count }.max() ?? 1
        let b = indices.count
        var input = [Int](repeating: padId, count: b * l), types = [Int](repeating: 0, count: b * l), mask = [Int](repeating: 0, count: b * l)
        for (row, i) in indices.enumerated() {
            for (t, id) in ids[i].enumerated() {
                input[row * l + t] = id
                types[row * l + t] = typeIds[i][t]
                mask[row * l + t] = 1
            }
        }
        var inputs = ElectraInputs(inputIds: IntTensor(shape: [b, l], values: input),
                                   attentionMask: IntTensor(shape: [b, l], values: mask),
                                   tokenTypeIds: IntTensor(shape: [b, l], values: types))
        if withLabels {
            if isRegression {
                inputs.floatLabels = Tensor(shape: [b], values: indices.map { targets[$0] })
            } else {
                inputs.labels = IntTensor(shape: [b], values: indices.map { labels[$0] })
            }
        }
        return inputs
    }

    public var tokenCount: Int { ids.reduce(0) { $0 + $1.count } }
}
