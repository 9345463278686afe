import ArgumentParser
import Electra
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

    /// Loads a folder that must hold `Model`'s head: another architecture, or a folder whose
    /// head weights are missing, is an error naming what was expected.
    static func load<Model: ElectraHeadModel>(_ type: Model.Type, _ dir: URL, command: String) throws -> (Model, ElectraTokenizer) {
        let config = try ElectraConfig.load(from: try ModelFolder.configURL(dir))
        if let arch = config.architectures?.first, arch != Model.architecture {
            throw ElectraError("\(dir.path) holds an \(arch); \(command) needs an \(Model.architecture) folder")
        }
        let (model, report) = try Model.load(config: config, weights: try CheckpointWeights.open(dir))
        let head = report.missing.filter { !$0.hasPrefix("electra.") }
        guard head.isEmpty else {
            throw ElectraError("\(dir.path) lacks the \(Model.architecture) head (\(head.joined(separator: ", "))); \(command) needs a trained \(Model.architecture) folder")
        }
        let (tok, _) = try TokenizerFiles.load(dir, hint: "the model folder must hold its tokenizer files")
        model.setInferenceDType(RunOptions.loadedDType)
        return (model, tok)
    }
}

struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replaced-token detection: per token, the probability that it was replaced, with a discriminator.",
        discussion: "Prints each token with its word and probability, marks those above the threshold, and lists the replaced words. Text longer than the model's positions is read in consecutive windows.")

    @Option(help: "An HF ElectraForPreTraining folder (default: the shipped \(ShippedModel.discriminator)).") var model: String?
    @Option(help: "A file of lines, one text each; - reads standard input.") var file: String?
    @Argument(help: "The text.") var text: String?
    @Option(help: "Probability above which a token counts as replaced.") var threshold: Double = 0.5
    @Flag(help: "One JSON object per text.") var json = false
    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            _ = try running.apply()
            guard threshold > 0 && threshold < 1 else { throw ElectraError("--threshold must be in (0, 1), got \(threshold)") }
            let texts = try inputTexts(text, file)
            let dir = try model.map { URL(fileURLWithPath: $0) }
                ?? ShippedModel.locate(ShippedModel.discriminator, option: "--model", expected: ElectraForPreTraining.architecture)
            let (m, tok) = try ShippedModel.load(ElectraForPreTraining.self, dir, command: "detect")
            for t in texts {
                let r = try ReplacedTokenDetector(model: m, tokenizer: tok).run(t)
                print(json ? r.json(threshold: threshold) : r.table(threshold: threshold))
            }
        }
    }
}

struct FillMask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-mask",
        abstract: "The generator's top candidates, with probabilities, for each [MASK] in a text.")

    @Option(help: "An HF ElectraForMaskedLM folder (default: the shipped \(ShippedModel.generator)).") var model: String?
    @Option(help: "A file of lines, one text each; - reads standard input.") var file: String?
    @Argument(help: "Text with one or more [MASK] tokens.") var text: String?
    @Option(help: "Candidates per [MASK].") var topK = 5
    @Flag(help: "One JSON object per text.") var json = false
    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            _ = try running.apply()
            guard topK > 0 else { throw ElectraError("--top-k must be positive, got \(topK)") }
            let texts = try inputTexts(text, file)
            let dir = try model.map { URL(fileURLWithPath: $0) }
                ?? ShippedModel.locate(ShippedModel.generator, option: "--model", expected: ElectraForMaskedLM.architecture)
            let (m, tok) = try ShippedModel.load(ElectraForMaskedLM.self, dir, command: "fill-mask")
            for t in texts {
                let masks = try MaskFiller(model: m, tokenizer: tok).run(t, topK: min(topK, m.config.vocabSize))
                print(json ? MaskFiller.json(t, masks) : MaskFiller.table(t, masks))
            }
        }
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
