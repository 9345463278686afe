// The result of tokenizing one input (a text or a text pair), with HF's field semantics.

/// Token strings by id, shared by every `Encoding` a tokenizer produces (so encodings carry no
/// per-token String allocations; `Encoding.tokens` is derived on demand).
public final class TokenStrings: Sendable {
    let strings: [String]
    init(_ strings: [String]) { self.strings = strings }
    public subscript(id: Int) -> String? { id >= 0 && id < strings.count ? strings[id] : nil }
    public var count: Int { strings.count }
}

public struct Encoding: Sendable, CustomStringConvertible {
    /// Token ids.
    public var ids: [Int]
    /// Segment ids: 0 for the first text (and its [SEP]), 1 for the pair (and its [SEP]).
    public var typeIds: [Int]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int]
    /// 1 for tokens added by the post-processor ([CLS], [SEP]) and for padding, else 0.
    public var specialTokensMask: [Int]
    /// Offsets in the original text (of the sequence the token came from) counted in Unicode
    /// scalars, i.e. Python `str` indices; (0, 0) for special and padding tokens.
    public var offsets: [Range<Int>]
    /// The same offsets counted in UTF-8 bytes.
    public var byteOffsets: [Range<Int>]
    /// Index of the pre-tokenized word a token came from (per sequence); nil for special tokens.
    public var wordIds: [Int?]
    /// Which input a token came from: 0 (text), 1 (pair), nil for special and padding tokens.
    public var sequenceIds: [Int?]
    /// Extra windows produced by truncation (HF `overflowing`), in HF's order.
    public var overflowing: [Encoding]
    let tokenStrings: TokenStrings?

    public init(
        ids: [Int] = [], typeIds: [Int] = [], attentionMask: [Int] = [],
        specialTokensMask: [Int] = [], offsets: [Range<Int>] = [], byteOffsets: [Range<Int>] = [],
        wordIds: [Int?] = [], sequenceIds: [Int?] = [], overflowing: [Encoding] = [],
        tokenStrings: TokenStrings? = nil
    ) {
        self.ids = ids
        self.typeIds = typeIds
        self.attentionMask = attentionMask
        self.specialTokensMask = specialTokensMask
        self.offsets = offsets
        self.byteOffsets = byteOffsets
        self.wordIds = wordIds
        self.sequenceIds = sequenceIds
        self.overflowing = overflowing
        self.tokenStrings = tokenStrings
    }

    init(capacity: Int, tokenStrings: TokenStrings?) {
        self.init(tokenStrings: tokenStrings)
        reserveCapacity(capacity)
    }

    public var count: Int { ids.count }

    /// Token strings (vocabulary entries of `ids`).
    public var tokens: [String] { ids.map { tokenStrings?[$0] ?? "" } }

    public var description: String {
        "Encoding(ids: \(ids), tokens: \(tokens), overflowing: \(overflowing.count))"
    }

    mutating func reserveCapacity(_ n: Int) {
        ids.reserveCapacity(n); typeIds.reserveCapacity(n); attentionMask.reserveCapacity(n)
        specialTokensMask.reserveCapacity(n); offsets.reserveCapacity(n)
        byteOffsets.reserveCapacity(n); wordIds.reserveCapacity(n); sequenceIds.reserveCapacity(n)
    }

    mutating func append(contentsOf other: Encoding) {
        ids += other.ids; typeIds += other.typeIds; attentionMask += other.attentionMask
        specialTokensMask += other.specialTokensMask; offsets += other.offsets
        byteOffsets += other.byteOffsets; wordIds += other.wordIds; sequenceIds += other.sequenceIds
    }

    func slice(_ r: Range<Int>) -> Encoding {
        Encoding(
            ids: Array(ids[r]), typeIds: Array(typeIds[r]), attentionMask: Array(attentionMask[r]),
            specialTokensMask: Array(specialTokensMask[r]), offsets: Array(offsets[r]),
            byteOffsets: Array(byteOffsets[r]), wordIds: Array(wordIds[r]),
            sequenceIds: Array(sequenceIds[r]), tokenStrings: tokenStrings)
    }

    /// HF `Encoding::truncate`: keep `maxLength` tokens, move the rest into overflowing windows
    /// that overlap by `stride` tokens.
    mutating func truncate(maxLength: Int, stride: Int, direction: TruncationDirection) throws {
        let n = ids.count
        if maxLength >= n { return }
        if maxLength == 0 {
            let all = self
            self = Encoding(tokenStrings: tokenStrings)
            overflowing = [all]
            return
        }
        guard stride < maxLength else {
            throw TokenizerError.strideTooLarge(stride: stride, maxLength: maxLength)
        }
        let step = maxLength - stride
        var parts: [Range<Int>] = []
        switch direction {
        case .right:
            var start = 0
            while start < n {
                let stop = min(start + maxLength, n)
                parts.append(start..<stop)
                if stop == n { break }
                start += step
            }
        case .left:
            var last = n - 1
            while last >= 0 {
                let stop = last + 1
                let start = max(0, stop - maxLength)
                parts.append(start..<stop)
                if start == 0 { break }
                last -= step
            }
        }
        var first = slice(parts[0])
        first.overflowing = parts.dropFirst().map { slice($0) }
        self = first
    }

    /// HF `Encoding::merge_with` (offsets are not shifted): overflowing windows of both sides
    /// are combined exactly as HF does, including its nested overflowing lists.
    mutating func merge(with pair: Encoding) {
        var combined: [Encoding] = []
        for selfOverflow in overflowing {
            var n = selfOverflow
            n.merge(with: pair)
            combined.append(n)
            for pairOverflow in pair.overflowing {
                var m = selfOverflow
                m.merge(with: pairOverflow)
                combined.append(m)
            }
        }
        for pairOverflow in pair.overflowing {
            var n = self
            n.merge(with: pairOverflow)
            combined.append(n)
        }
        append(contentsOf: pair)
        overflowing = combined
    }

    /// HF `Encoding::pad` (overflowing windows are padded too).
    mutating func pad(
        to length: Int, padId: Int, padTypeId: Int, direction: PaddingDirection
    ) {
        for i in overflowing.indices {
            overflowing[i].pad(to: length, padId: padId, padTypeId: padTypeId, direction: direction)
        }
        let n = length - ids.count
        if n <= 0 { return }
        switch direction {
        case .right:
            ids += repeatElement(padId, count: n)
            typeIds += repeatElement(padTypeId, count: n)
            attentionMask += repeatElement(0, count: n)
            specialTokensMask += repeatElement(1, count: n)
            offsets += repeatElement(0..<0, count: n)
            byteOffsets += repeatElement(0..<0, count: n)
            wordIds += repeatElement(nil, count: n)
            sequenceIds += repeatElement(nil, count: n)
        case .left:
            ids.insert(contentsOf: repeatElement(padId, count: n), at: 0)
            typeIds.insert(contentsOf: repeatElement(padTypeId, count: n), at: 0)
            attentionMask.insert(contentsOf: repeatElement(0, count: n), at: 0)
            specialTokensMask.insert(contentsOf: repeatElement(1, count: n), at: 0)
            offsets.insert(contentsOf: repeatElement(0..<0, count: n), at: 0)
            byteOffsets.insert(contentsOf: repeatElement(0..<0, count: n), at: 0)
            wordIds.insert(contentsOf: repeatElement(nil, count: n), at: 0)
            sequenceIds.insert(contentsOf: repeatElement(nil, count: n), at: 0)
        }
    }
}

extension Encoding: Equatable {
    /// Compares all token fields and overflowing windows (not the token-string table).
    public static func == (a: Encoding, b: Encoding) -> Bool {
        a.ids == b.ids && a.typeIds == b.typeIds && a.attentionMask == b.attentionMask
            && a.specialTokensMask == b.specialTokensMask && a.offsets == b.offsets
            && a.byteOffsets == b.byteOffsets && a.wordIds == b.wordIds
            && a.sequenceIds == b.sequenceIds && a.overflowing == b.overflowing
    }
}
