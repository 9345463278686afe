// Options mirroring HF tokenizers' tokenizer.json sections.

/// BertNormalizer options. `stripAccents == nil` means "follow `lowercase`" (HF default).
public struct NormalizerOptions: Sendable, Hashable {
    public var cleanText: Bool
    public var handleChineseChars: Bool
    public var stripAccents: Bool?
    public var lowercase: Bool

    public init(
        cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil,
        lowercase: Bool = true
    ) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }

    var effectiveStripAccents: Bool { stripAccents ?? lowercase }
}

public enum PreTokenizerKind: String, Sendable, Hashable {
    /// Split on whitespace (removed) and on each punctuation character (kept alone).
    case bert = "BertPreTokenizer"
    /// Regex `\w+|[^\w\s]+`.
    case whitespace = "Whitespace"
    /// Split on whitespace only.
    case whitespaceSplit = "WhitespaceSplit"
}

public enum TruncationStrategy: String, Sendable, Hashable, CaseIterable {
    case longestFirst = "longest_first"
    case onlyFirst = "only_first"
    case onlySecond = "only_second"
}

public enum TruncationDirection: String, Sendable, Hashable {
    case left, right
}

public struct TruncationOptions: Sendable, Hashable {
    /// Maximum length including the special tokens the post-processor adds.
    public var maxLength: Int
    public var strategy: TruncationStrategy
    /// Overlap between consecutive overflowing windows, in tokens.
    public var stride: Int
    public var direction: TruncationDirection

    public init(
        maxLength: Int, strategy: TruncationStrategy = .longestFirst, stride: Int = 0,
        direction: TruncationDirection = .right
    ) {
        self.maxLength = maxLength
        self.strategy = strategy
        self.stride = stride
        self.direction = direction
    }
}

public enum PaddingDirection: String, Sendable, Hashable {
    case left, right
}

public struct PaddingOptions: Sendable, Hashable {
    public enum Strategy: Sendable, Hashable {
        /// Pad every encoding of a batch to the longest one.
        case longest
        /// Pad to a fixed length (HF `Fixed` / transformers `max_length`).
        case fixed(Int)
    }
    public var strategy: Strategy
    public var direction: PaddingDirection
    public var padToMultipleOf: Int?
    public var padId: Int
    public var padTypeId: Int
    public var padToken: String

    public init(
        strategy: Strategy = .longest, direction: PaddingDirection = .right,
        padToMultipleOf: Int? = nil, padId: Int = 0, padTypeId: Int = 0,
        padToken: String = "[PAD]"
    ) {
        self.strategy = strategy
        self.direction = direction
        self.padToMultipleOf = padToMultipleOf
        self.padId = padId
        self.padTypeId = padTypeId
        self.padToken = padToken
    }
}

/// A token matched in the raw text before the model sees it (HF `added_tokens`).
public struct AddedToken: Sendable, Hashable {
    public var content: String
    public var id: Int
    /// Special tokens are skipped by `decode(skipSpecialTokens: true)`.
    public var special: Bool
    /// Only match when not surrounded by word characters.
    public var singleWord: Bool
    /// Absorb whitespace on the left / right into the token.
    public var lstrip: Bool
    public var rstrip: Bool
    /// Match against the normalized text (true) or the raw text (false).
    public var normalized: Bool

    public init(
        content: String, id: Int, special: Bool, singleWord: Bool = false, lstrip: Bool = false,
        rstrip: Bool = false, normalized: Bool? = nil
    ) {
        self.content = content
        self.id = id
        self.special = special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized ?? !special
    }
}

/// One element of a post-processing template (HF TemplateProcessing / BertProcessing).
public enum TemplatePiece: Sendable, Hashable {
    case special(ids: [Int], tokens: [String], typeId: Int)
    case sequenceA(typeId: Int)
    case sequenceB(typeId: Int)
}

public struct PostProcessorTemplate: Sendable, Hashable {
    public var single: [TemplatePiece]
    public var pair: [TemplatePiece]

    public init(single: [TemplatePiece], pair: [TemplatePiece]) {
        self.single = single
        self.pair = pair
    }

    /// [CLS] A [SEP] / [CLS] A [SEP] B [SEP], type ids 0 for A and 1 for B.
    public static func bert(cls: (String, Int), sep: (String, Int)) -> PostProcessorTemplate {
        let c = TemplatePiece.special(ids: [cls.1], tokens: [cls.0], typeId: 0)
        let s0 = TemplatePiece.special(ids: [sep.1], tokens: [sep.0], typeId: 0)
        let s1 = TemplatePiece.special(ids: [sep.1], tokens: [sep.0], typeId: 1)
        return PostProcessorTemplate(
            single: [c, .sequenceA(typeId: 0), s0],
            pair: [c, .sequenceA(typeId: 0), s0, .sequenceB(typeId: 1), s1])
    }

    /// No special tokens (tokenizer.json with `"post_processor": null`).
    public static let none = PostProcessorTemplate(
        single: [.sequenceA(typeId: 0)], pair: [.sequenceA(typeId: 0), .sequenceB(typeId: 1)])

    /// Number of tokens the template adds (HF `added_tokens(is_pair)`).
    public func addedTokens(pair isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) {
            if case .special(let ids, _, _) = $1 { return $0 + ids.count }
            return $0
        }
    }
}

/// WordPiece decoder options (HF `decoders.WordPiece`).
public struct DecoderOptions: Sendable, Hashable {
    public var prefix: String
    /// Remove spaces before punctuation and in contractions (" ." -> ".", " n't" -> "n't").
    public var cleanup: Bool

    public init(prefix: String = "##", cleanup: Bool = true) {
        self.prefix = prefix
        self.cleanup = cleanup
    }
}
