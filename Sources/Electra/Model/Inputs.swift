import ElectraKernels

/// Model inputs, HF names and shapes: input_ids [B, L] ([B, C, L] for multiple choice),
/// optional attention_mask, token_type_ids, position_ids of the same shape, optional labels.
public struct ElectraInputs: Sendable {
    public var inputIds: IntTensor
    public var attentionMask: IntTensor?
    public var tokenTypeIds: IntTensor?
    public var positionIds: IntTensor?
    /// Integer labels (class ids, token labels with -100, 0/1 replaced-token labels).
    public var labels: IntTensor?
    /// Float labels (regression targets, multi-label 0/1 targets).
    public var floatLabels: Tensor?
    public var startPositions: IntTensor?
    public var endPositions: IntTensor?
    /// Packed sequences (inference): input_ids is [1, N], these sequences one after another
    /// with no padding (their lengths sum to N). Attention stays within each sequence and
    /// positions restart at 0 in each, so every sequence's outputs equal those it gets alone;
    /// per-token outputs are [1, N, ...], a sequence head's are [sequences, ...]. No padding
    /// is computed, and the encoder's products see all N rows at once.
    public var sequenceLengths: [Int]?

    public init(inputIds: IntTensor, attentionMask: IntTensor? = nil, tokenTypeIds: IntTensor? = nil,
                positionIds: IntTensor? = nil, labels: IntTensor? = nil, floatLabels: Tensor? = nil,
                startPositions: IntTensor? = nil, endPositions: IntTensor? = nil) {
        self.inputIds = inputIds
        self.attentionMask = attentionMask
        self.tokenTypeIds = tokenTypeIds
        self.positionIds = positionIds
        self.labels = labels
        self.floatLabels = floatLabels
        self.startPositions = startPositions
        self.endPositions = endPositions
    }

    /// Convenience for unpadded single sequences.
    public init(ids: [[Int]]) {
        let l = ids.first?.count ?? 0
        self.init(inputIds: IntTensor(shape: [ids.count, l], values: ids.flatMap { $0 }))
    }
}

/// Validated, flattened token inputs of one backbone call (N = B*L); packed inputs are one
/// row of N tokens (batch 1, length N) whose `segments` say where each sequence starts.
struct TokenBatch {
    let batch: Int, length: Int
    /// Packed sequences' offsets (sequences + 1, from 0 to N), or nil.
    let segments: [Int]?
    let ids: [Int32], types: [Int32], positions: [Int32]
    /// attention_mask as 0/1, [N].
    let mask: [Int32]
    /// (1 - mask) * float32.min, [N]: HF's additive mask.
    let maskBias: [Float]
    var tokens: Int { batch * length }

    /// Training pads its batches: packed sequences are refused (the training tape and the
    /// attention backward assume [B, L]).
    func requireUnpacked() throws {
        guard segments == nil else { throw ElectraError("packed sequences (sequenceLengths) are for inference; training pads its batches") }
    }

    /// Checks everything a user can get wrong and says which tensor and where.
    init(_ inp: ElectraInputs, config c: ElectraConfig, flattenChoices: Bool) throws {
        let shape = inp.inputIds.shape
        let expectedRank = flattenChoices ? 3 : 2
        guard shape.count == expectedRank else {
            throw ElectraError("input_ids must have shape \(flattenChoices ? "[batch, choices, length]" : "[batch, length]"), got \(shapeString(shape))")
        }
        let b = flattenChoices ? shape[0] * shape[1] : shape[0]
        let l = shape[shape.count - 1]
        guard b > 0, l > 0 else { throw ElectraError("input_ids is empty (shape \(shapeString(shape)))") }
        var segments: [Int]? = nil
        if let lengths = inp.sequenceLengths {
            guard !flattenChoices else { throw ElectraError("packed sequences (sequenceLengths) are not supported for multiple choice") }
            guard b == 1 else { throw ElectraError("packed sequences need input_ids of shape [1, N], got \(shapeString(shape))") }
            guard !lengths.isEmpty, lengths.allSatisfy({ $0 > 0 }) else { throw ElectraError("sequenceLengths must be positive, got \(lengths)") }
            guard lengths.reduce(0, +) == l else { throw ElectraError("sequenceLengths sum to \(lengths.reduce(0, +)) but input_ids has \(l) tokens") }
            if let longest = lengths.max(), longest > c.maxPositionEmbeddings {
                throw ElectraError("a packed sequence of \(longest) tokens exceeds max_position_embeddings (\(c.maxPositionEmbeddings)); truncate the input")
            }
            // One sequence is a plain [1, N] batch: the same outputs on the plain path.
            if lengths.count > 1 {
                var offsets = [0]
                for n in lengths { offsets.append(offsets.last! + n) }
                segments = offsets
            }
        } else if l > c.maxPositionEmbeddings {
            throw ElectraError("sequence length \(l) exceeds max_position_embeddings (\(c.maxPositionEmbeddings)); truncate the input")
        }
        func check(_ t: IntTensor?, _ name: String) throws {
            if let t, t.shape != shape {
                throw ElectraError("\(name) has shape \(shapeString(t.shape)) but input_ids has \(shapeString(shape))")
            }
        }
        try check(inp.attentionMask, "attention_mask")
        try check(inp.tokenTypeIds, "token_type_ids")
        try check(inp.positionIds, "position_ids")
        func index(_ flat: Int) -> String {
            var rest = flat
            var parts: [Int] = []
            for d in shape.reversed() { parts.append(rest % d); rest /= d }
            return parts.reversed().map { "[\($0)]" }.joined()
        }
        let n = b * l
        var ids = [Int32](repeating: 0, count: n)
        for (i, v) in inp.inputIds.values.enumerated() {
            guard v >= 0 && v < c.vocabSize else {
                throw ElectraError("input_ids\(index(i)) = \(v) is outside the vocabulary (vocab_size \(c.vocabSize))")
            }
            ids[i] = Int32(v)
        }
        var types = [Int32](repeating: 0, count: n)
        if let t = inp.tokenTypeIds {
            for (i, v) in t.values.enumerated() {
                guard v >= 0 && v < c.typeVocabSize else {
                    throw ElectraError("token_type_ids\(index(i)) = \(v) is not below type_vocab_size (\(c.typeVocabSize))")
                }
                types[i] = Int32(v)
            }
        }
        var positions = [Int32](repeating: 0, count: n)
        if let p = inp.positionIds {
            for (i, v) in p.values.enumerated() {
                guard v >= 0 && v < c.maxPositionEmbeddings else {
                    throw ElectraError("position_ids\(index(i)) = \(v) is outside 0..<\(c.maxPositionEmbeddings)")
                }
                positions[i] = Int32(v)
            }
        } else if let segments {
            for s in 0..<(segments.count - 1) {
                for i in segments[s]..<segments[s + 1] { positions[i] = Int32(i - segments[s]) }
            }
        } else {
            for i in 0..<n { positions[i] = Int32(i % l) }
        }
        var mask = [Int32](repeating: 1, count: n)
        var bias = [Float](repeating: 0, count: n)
        if let m = inp.attentionMask {
            for (i, v) in m.values.enumerated() {
                guard v == 0 || v == 1 else {
                    throw ElectraError("attention_mask\(index(i)) = \(v); the mask must be 0 or 1")
                }
                mask[i] = Int32(v)
                bias[i] = v == 1 ? 0 : -Float.greatestFiniteMagnitude
            }
        }
        batch = b
        length = l
        self.segments = segments
        self.ids = ids
        self.types = types
        self.positions = positions
        self.mask = mask
        maskBias = bias
    }
}
