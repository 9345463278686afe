import ArgumentParser
import Electra
import ElectraTokenizers
import ElectraTraining
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `electra tokenize`: UTF-8 lines on stdin -> one JSON object per line on stdout.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize stdin lines into JSON lines (input_ids, token_type_ids, attention_mask, offset_mapping, tokens, overflowing), or ids only (--ids).",
        discussion: """
            Reads UTF-8 text, one input per line (with --pairs: TEXT<TAB>PAIR), and writes one JSON \
            object per input line, in order. Input is processed in chunks of --chunk-lines lines that \
            are encoded on all cores, so memory stays bounded on inputs of any size. Offsets count \
            Unicode scalars (Python string indices).

            A tokenizer.json's own truncation/padding sections apply unless \
            --max-length/--padding/--no-truncation override them.
            """)

    @Option(name: .long, help: "Tokenizer folder (tokenizer.json, or vocab.txt + tokenizer_config.json) or file.")
    var tokenizer: String

    @Flag(name: .long, help: "Each line is TEXT<TAB>PAIR.")
    var pairs = false

    @Option(name: .long, help: "Truncate to this many tokens, special tokens included.")
    var maxLength: Int?

    @Option(name: .long, help: "Truncation strategy: longest_first, only_first or only_second (default: longest_first; needs --max-length).")
    var truncation: String?

    @Option(name: .long, help: "Tokens of overlap between overflowing windows (needs --max-length).")
    var stride: Int = 0

    @Flag(name: .long, help: "Disable truncation, including the tokenizer file's own.")
    var noTruncation = false

    @Option(name: .long, help: "Padding: longest (within each chunk) or max_length (to --max-length).")
    var padding: String?

    @Flag(name: .long, help: "Disable padding, including the tokenizer file's own.")
    var noPadding = false

    @Option(name: .long, help: "Round padded lengths up to a multiple of this.")
    var padToMultipleOf: Int?

    @Flag(name: .long, help: "Pad on the left.")
    var padLeft = false

    @Flag(name: .long, help: "Do not add [CLS]/[SEP].")
    var noSpecialTokens = false

    @Flag(name: .long, help: "Write only the input ids, space-separated, one line per input (overflowing windows after tabs on the same line), instead of JSON.")
    var ids = false

    @Flag(name: .long, help: "Replace invalid UTF-8 with U+FFFD instead of failing.")
    var replaceInvalid = false

    @Option(name: .long, help: "Lines per chunk.")
    var chunkLines: Int = 4096

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Benchmark the library API on this file's lines instead (no output but a JSON summary).", visibility: .hidden))
    var benchmark: String?

    @Option(name: .long, help: ArgumentHelp("Benchmark repetitions (best is reported).", visibility: .hidden))
    var repeats: Int = 3

    func validate() throws {
        if let t = truncation, TruncationStrategy(rawValue: t) == nil {
            throw ValidationError("--truncation must be longest_first, only_first or only_second, not \"\(t)\"")
        }
        if truncation != nil && maxLength == nil { throw ValidationError("--truncation needs --max-length") }
        if noTruncation && maxLength != nil { throw ValidationError("pass --max-length or --no-truncation, not both") }
        if noPadding && padding != nil { throw ValidationError("pass --padding or --no-padding, not both") }
        if let m = padToMultipleOf, !(1...1 << 20).contains(m) { throw ValidationError("--pad-to-multiple-of must be in 1...1048576, got \(m)") }
        if padding == "max_length", let m = maxLength, m > 1 << 20 { throw ValidationError("--padding max_length pads every line to --max-length: at most 1048576, got \(m)") }
        if let p = padding, p != "longest", p != "max_length" {
            throw ValidationError("--padding must be longest or max_length, not \"\(p)\"")
        }
        if padding == "max_length" && maxLength == nil {
            throw ValidationError("--padding max_length needs --max-length")
        }
        if stride > 0 && maxLength == nil {
            throw ValidationError("--stride needs --max-length")
        }
        if let m = maxLength, m < 0 { throw ValidationError("--max-length must not be negative") }
        if stride < 0 { throw ValidationError("--stride must not be negative") }
        if chunkLines < 1 { throw ValidationError("--chunk-lines must be at least 1") }
        if let t = threads, !(1...ThreadOption.maximum).contains(t) { throw ValidationError("--threads must be in 1...\(ThreadOption.maximum), got \(t)") }
    }

    // Runtime failures throw `TokenizerError` (CustomStringConvertible): ArgumentParser prints
    // "error: <message>" on stderr (ElectraCommand.main) and exits non-zero.
    func run() throws {
        var tok = try ElectraTokenizer.load(directory: try ModelArgument.folder(tokenizer, option: "--tokenizer"))
        if noTruncation { try tok.setTruncation(nil) }
        if noPadding { tok.padding = nil }
        if let m = maxLength {
            try tok.setTruncation(TruncationOptions(
                maxLength: m, strategy: TruncationStrategy(rawValue: truncation ?? "longest_first")!, stride: stride))
        }
        if let p = padding {
            tok.padding = PaddingOptions(
                strategy: p == "longest" ? .longest : .fixed(maxLength ?? 0),
                direction: padLeft ? .left : .right, padToMultipleOf: padToMultipleOf,
                padId: tok.padTokenId, padTypeId: 0, padToken: tok.idToToken(tok.padTokenId) ?? "[PAD]")
        } else if padToMultipleOf != nil || padLeft {
            if var existing = tok.padding {
                existing.padToMultipleOf = padToMultipleOf ?? existing.padToMultipleOf
                if padLeft { existing.direction = .left }
                tok.padding = existing
            } else {
                throw ValidationError("--pad-to-multiple-of/--pad-left need --padding")
            }
        }
        if let benchmark {
            try runBenchmark(tok, file: benchmark)
            return
        }
        var lt = LineTokenizer(tokenizer: tok)
        lt.pairs = pairs
        lt.replaceInvalidUTF8 = replaceInvalid
        lt.addSpecialTokens = !noSpecialTokens
        lt.chunkLines = chunkLines
        lt.idsOnly = ids
        lt.threads = threads
        try lt.run(input: STDIN_FILENO, output: STDOUT_FILENO)
    }
}

extension Tokenize {
    /// Time `encodeBatch` (library API, no I/O) on the lines of `file`; best of `repeats`.
    func runBenchmark(_ tok: ElectraTokenizer, file: String) throws {
        let data = try InputFile.contents(of: file)
        let lines = TextFile.lines(String(decoding: data, as: UTF8.self)).map(String.init)
        let bytes = lines.reduce(0) { $0 + $1.utf8.count }
        var best = Double.infinity
        var tokens = 0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            let encodings = try tok.encodeBatch(lines, addSpecialTokens: !noSpecialTokens, threads: threads)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            tokens = encodings.reduce(0) { $0 + $1.count }
            best = min(best, seconds)
        }
        print("{\"lines\": \(lines.count), \"bytes\": \(bytes), \"tokens\": \(tokens), \"seconds\": \(best), \"mb_per_s\": \(Double(bytes) / 1e6 / best), \"threads\": \(threads ?? defaultTokenizerThreads)}")
    }
}

/// `electra detokenize`: lines of ids -> decoded text lines.
struct Detokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Decode token ids from stdin back to text, one line per input line.",
        discussion: """
            Each input line is a JSON object with "input_ids" (what `electra tokenize` writes; its \
            overflowing windows are ignored), a JSON array of ids, or ids separated by spaces or \
            commas. Special tokens are dropped unless --keep-special-tokens. Unknown ids are an \
            error that names the line.
            """)

    @Option(name: .long, help: "Tokenizer folder or file.")
    var tokenizer: String

    @Flag(name: .long, help: "Keep [CLS], [SEP], [PAD], ... in the output.")
    var keepSpecialTokens = false

    @Flag(name: .long, help: "Do not remove spaces before punctuation and in contractions.")
    var noCleanup = false

    func run() throws {
        let tok = try ElectraTokenizer.load(directory: try ModelArgument.folder(tokenizer, option: "--tokenizer"))
        var d = LineDetokenizer(tokenizer: tok)
        d.skipSpecialTokens = !keepSpecialTokens
        if noCleanup { d.cleanUpTokenizationSpaces = false }
        try d.run(input: STDIN_FILENO, output: STDOUT_FILENO)
    }
}
