import ArgumentParser
import Electra
import ElectraPipelines
import ElectraTokenizers
import Foundation

/// The pretrained pair this package ships (models/, issue 15), found from the working
/// directory or beside the executable (.build/<config>/electra in a checkout).
enum ShippedModel {
    static let discriminator = "models/electra-tiny-discriminator"
    static let generator = "models/electra-tiny-generator"

    static func locate(_ relative: String, option: String, expected: String) throws -> URL {
        if let found = candidates(relative).first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }) {
            return found
        }
        throw ElectraError("no \(option) given and the shipped model (\(relative)) is not here; pass \(option) DIR (an HF \(expected) folder)")
    }

    /// A file the checkout bundles (examples/...), found the same way.
    static func resource(_ relative: String, option: String) throws -> URL {
        if let found = candidates(relative).first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return found }
        throw ElectraError("no \(option) given and \(relative) is not here (run from the checkout, or pass \(option) FILE)")
    }

    /// `relative` under the working directory, then under the executable's folder and its parents.
    static func candidates(_ relative: String) -> [URL] {
        var list = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(relative)]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            list.append(dir.appendingPathComponent(relative))
            dir = dir.deletingLastPathComponent()
        }
        return list
    }
}

struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replaced-token detection: per token, the probability that it was replaced, with a discriminator.",
        discussion: "Prints each token with its word and probability, marks those above the threshold, and lists the replaced words. Text longer than the model's positions is read in consecutive windows. --json: one object per text: text, tokens (token, word, start, end, probability; offsets in characters), words (word, start, end, probability = the highest of its tokens, replaced).")

    @Option(help: "An HF ElectraForPreTraining folder (default: the shipped \(ShippedModel.discriminator)).") var model: String?
    @Option(help: "A file of lines, one text each; - reads standard input.") var file: String?
    @Argument(help: "The text.") var text: String?
    @Option(help: "Probability above which a token counts as replaced.") var threshold: Double = 0.5
    @Option(help: "Texts per forward pass.") var batchSize = 32
    @Flag(help: "One JSON object per text.") var json = false
    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            let dtype = try running.apply()
            guard threshold > 0 && threshold < 1 else { throw ElectraError("--threshold must be in (0, 1), got \(threshold)") }
            let texts = try inputTexts(text, file)
            let dir = try model.map { try ModelArgument.folder($0, option: "--model") }
                ?? ShippedModel.locate(ShippedModel.discriminator, option: "--model", expected: ElectraForPreTraining.architecture)
            let pipeline = try ReplacedTokenDetectionPipeline(folder: dir, options: try running.pipelineOptions(dtype, batchSize: batchSize))
            let t = Float(threshold)
            for r in try pipeline(texts) {
                print(json ? r.json(threshold: t).serialized : Self.table(r, threshold: t))
            }
        }
    }

    static func table(_ r: ReplacedTokenDetectionPipeline.Result, threshold: Float) -> String {
        var lines = ["text: \(r.text)", "token                p(replaced)"]
        for t in r.tokens {
            let mark = t.probability > threshold ? "  <- replaced" : ""
            lines.append(t.token.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " %.3f", t.probability) + mark)
        }
        let words = r.replacedWords(threshold: threshold).map(\.word)
        lines.append("replaced (p > \(threshold)): \(words.isEmpty ? "none" : words.joined(separator: ", "))")
        return lines.joined(separator: "\n")
    }
}

struct FillMask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-mask",
        abstract: "The generator's top candidates, with probabilities, for each [MASK] in a text.",
        discussion: "--json prints what HF's pipeline(\"fill-mask\") returns for the text: a list of {score, token, token_str, sequence}, a list of such lists for several masks; one value per line of --file.")

    @Option(help: "An HF ElectraForMaskedLM folder (default: the shipped \(ShippedModel.generator)).") var model: String?
    @Option(help: "A file of lines, one text each; - reads standard input.") var file: String?
    @Argument(help: "Text with one or more [MASK] tokens.") var text: String?
    @Option(help: "Candidates per [MASK].") var topK = 5
    @Option(help: "Score only this token (repeat for several), as HF's targets.") var target: [String] = []
    @Option(help: "Texts per forward pass.") var batchSize = 32
    @Flag(help: "HF pipeline() JSON, one value per text.") var json = false
    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            let dtype = try running.apply()
            guard topK > 0 else { throw ElectraError("--top-k must be positive, got \(topK)") }
            let texts = try inputTexts(text, file)
            let dir = try model.map { try ModelArgument.folder($0, option: "--model") }
                ?? ShippedModel.locate(ShippedModel.generator, option: "--model", expected: ElectraForMaskedLM.architecture)
            let pipeline = try FillMaskPipeline(folder: dir, options: try running.pipelineOptions(dtype, batchSize: batchSize))
            for (t, token) in try pipeline.replacedTargets(target) {
                // HF's fill-mask pipeline warns the same way.
                warn(token.map { "target '\(t)' is not in the vocabulary; its first token '\($0)' stands for it (as HF)" }
                     ?? "target '\(t)' holds no token of the vocabulary and is left out")
            }
            let results = try pipeline(texts, topK: topK, targets: target.isEmpty ? nil : target)
            for (t, masks) in zip(texts, results) {
                print(json ? FillMaskPipeline.json([masks], singleInput: true).serialized : Self.table(t, masks))
            }
        }
    }

    static func table(_ text: String, _ masks: [[FillMaskPipeline.Candidate]]) -> String {
        var lines = ["text: \(text)"]
        for (k, m) in masks.enumerated() {
            let c = m.map { String(format: "%@ %.3f", $0.tokenString, $0.score) }.joined(separator: ", ")
            lines.append("[MASK] \(k + 1): \(c)")
        }
        return lines.joined(separator: "\n")
    }
}

/// The text argument or the lines of --file, non-empty.
func inputTexts(_ text: String?, _ file: String?) throws -> [String] {
    if let file {
        guard text == nil else { throw ElectraError("give a text or --file, not both") }
        let lines = try TextInput.lines(file).map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
        guard !lines.isEmpty else { throw ElectraError("\(file) holds no text") }
        return lines
    }
    guard let text else { throw ElectraError("give a text (or --file)") }
    guard !text.allSatisfy(\.isWhitespace) else { throw ElectraError("the text is empty") }
    return [text]
}
