/// Everything that can go wrong loading or running a tokenizer, with messages meant for users.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case unreadableFile(path: String, reason: String)
    case emptyVocabulary(path: String)
    case duplicateVocabularyEntry(path: String, token: String, firstLine: Int, secondLine: Int)
    case duplicateVocabularyId(path: String, id: Int, first: String, second: String)
    case vocabularyIdsNotContiguous(path: String, missingId: Int)
    /// `field` is a path such as `model.vocab` or `added_tokens[3].content`.
    case malformedJSON(path: String, field: String, reason: String)
    case unsupported(path: String, field: String, value: String)
    case missingSpecialToken(name: String, token: String)
    case noTokenizerFiles(directory: String)
    case maxLengthTooSmall(maxLength: Int, specialTokens: Int)
    case strideTooLarge(stride: Int, maxLength: Int)
    case secondSequenceNotProvided
    case sequenceTooShort(length: Int, toRemove: Int)
    case invalidUTF8(line: Int)
    case unknownTokenId(Int)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "file not found: \(path)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .emptyVocabulary(let path):
            return "vocabulary is empty: \(path)"
        case .duplicateVocabularyEntry(let path, let token, let first, let second):
            return "duplicate vocabulary entry \"\(token)\" in \(path) (lines \(first) and \(second))"
        case .duplicateVocabularyId(let path, let id, let first, let second):
            return "vocabulary in \(path) maps both \"\(first)\" and \"\(second)\" to id \(id)"
        case .vocabularyIdsNotContiguous(let path, let missing):
            return "vocabulary ids in \(path) are not contiguous: id \(missing) is missing"
        case .malformedJSON(let path, let field, let reason):
            return "malformed \(path): field `\(field)` \(reason)"
        case .unsupported(let path, let field, let value):
            return "\(path): \(field) \"\(value)\" is not supported (only WordPiece models with BertNormalizer and Bert/Whitespace/WhitespaceSplit pre-tokenizers are)"
        case .missingSpecialToken(let name, let token):
            return "special token \(name) \"\(token)\" is not in the vocabulary"
        case .noTokenizerFiles(let directory):
            return "no tokenizer.json or vocab.txt in \(directory)"
        case .maxLengthTooSmall(let maxLength, let special):
            return "max_length \(maxLength) is smaller than the \(special) special tokens the template adds"
        case .strideTooLarge(let stride, let maxLength):
            return "stride \(stride) must be smaller than the length available per window (\(maxLength) tokens after special tokens and the other sequence)"
        case .secondSequenceNotProvided:
            return "truncation strategy only_second needs a pair of texts"
        case .sequenceTooShort(let length, let toRemove):
            return "sequence to truncate is too short (\(length) tokens) to remove the \(toRemove) tokens over max_length"
        case .invalidUTF8(let line):
            return "invalid UTF-8 on line \(line) (use --replace-invalid to substitute U+FFFD)"
        case .unknownTokenId(let id):
            return "token id \(id) is not in the vocabulary"
        case .invalidOption(let message):
            return message
        }
    }
}
