import Foundation

/// Tokens that a model folder's config files add to its tokenizer, as transformers'
/// PreTrainedTokenizerFast does when it loads one: tokenizer_config.json's
/// `added_tokens_decoder` (with added_tokens.json, the older file, for ids it does not name),
/// in id order, then the special tokens (unk, sep, pad, cls, mask, `additional_special_tokens`)
/// with the flags they are written with. A token whose content the tokenizer already has is
/// left as it is; a new one takes its vocabulary id, or the next id after the vocabulary.
struct ConfigAddedTokens: Sendable {
    struct Token: Sendable, Equatable {
        var content: String
        var special: Bool
        var singleWord = false
        var lstrip = false
        var rstrip = false
        var normalized: Bool
    }

    /// added_tokens_decoder and added_tokens.json, by id.
    var byId: [(id: Int, token: Token)] = []
    /// The named special tokens, then the additional ones.
    var special: [Token] = []

    /// Appends to `added` the tokens it lacks, with ids as HF's AddedVocabulary gives them.
    func apply(to added: inout [AddedToken], vocab: [String: Int]) {
        func add(_ t: Token) {
            guard !t.content.isEmpty, !added.contains(where: { $0.content == t.content }) else { return }
            let id: Int
            if let v = vocab[t.content] {
                id = v
            } else if let maxAdded = added.map(\.id).max(), maxAdded >= vocab.count {
                id = maxAdded + 1
            } else {
                id = vocab.count
            }
            added.append(AddedToken(content: t.content, id: id, special: t.special, singleWord: t.singleWord,
                                    lstrip: t.lstrip, rstrip: t.rstrip, normalized: t.normalized))
        }
        for (_, t) in byId.sorted(by: { $0.id < $1.id }) { add(t) }
        for t in special { add(t) }
    }

    /// A token written as a string or as {"content", "single_word", "lstrip", "rstrip",
    /// "normalized", "special"}; `special` is what a string means (and a missing key).
    static func token(_ value: Any, special: Bool, file: String, field: String) throws -> Token {
        if let s = value as? String { return Token(content: s, special: special, normalized: !special) }
        guard let d = value as? [String: Any], let content = d["content"] as? String else {
            throw TokenizerError.malformedJSON(path: file, field: field, reason: "must be a string or {\"content\": ...}")
        }
        func flag(_ key: String) throws -> Bool? {
            guard let v = d[key], !(v is NSNull || v is JSONNull) else { return nil }
            guard let b = v as? Bool else { throw TokenizerError.malformedJSON(path: file, field: "\(field).\(key)", reason: "must be true or false") }
            return b
        }
        let isSpecial = try flag("special") ?? special
        return Token(content: content, special: isSpecial, singleWord: try flag("single_word") ?? false,
                     lstrip: try flag("lstrip") ?? false, rstrip: try flag("rstrip") ?? false,
                     normalized: try flag("normalized") ?? !isSpecial)
    }
}
