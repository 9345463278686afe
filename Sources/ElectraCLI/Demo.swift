import ArgumentParser
import Electra
import ElectraKernels
import ElectraPipelines
import ElectraTokenizers
import ElectraTraining
import Foundation

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What ELECTRA does, in four short parts, with the shipped generator and discriminator.",
        discussion: """
        1. The generator rewrites some words of a few held-out sentences; the discriminator marks the \
        words it thinks were replaced. 2. Detection precision and recall over a few hundred held-out \
        sentences. 3. The generator filling in [MASK]s. 4. A short live pretraining run of a tiny \
        model on a bundled text slice, with its progress line and where its curves were written.
        """)

    @Option(help: "Discriminator folder (default: the shipped \(ShippedModel.discriminator)).") var discriminator: String?
    @Option(help: "Generator folder (default: the shipped \(ShippedModel.generator)).") var generator: String?
    @Option(help: "Held-out sentences, one a line (default: examples/demo/heldout-sentences.txt).") var sentences: String?
    @Option(help: "Text the live pretraining reads (default: examples/demo/wiki-slice.txt).") var slice: String?
    @Option(help: "Steps of live pretraining: a fixed schedule, so every run prints the same numbers (0 skips it).") var pretrainSteps = 250
    @Option(help: "At most this many seconds of live pretraining: a slower machine stops there, before the schedule ends (0 skips it).") var pretrainSeconds = 120.0
    @Option(help: "Folder for the live run (default: a new temporary folder).") var output: String?
    @Option(help: "Seed for masking and sampling in parts 1 to 3 (the live run keeps its own fixed seed, so that its printed numbers repeat on every machine).") var seed: UInt64 = 1
    @Option(help: "The generator's sampling temperature in parts 1 and 2 (default 1, the paper's, at which the shipped pair is judged).") var temperature: Float = 1
    @Option(help: "The live run's sampling temperature (part 4).") var liveTemperature: Float = Demo.liveTemperatureDefault
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func run() throws {
        try runReportingErrors {
            try ThreadOption.apply(threads)
            guard pretrainSeconds >= 0 && pretrainSeconds <= 3600 else { throw ElectraError("--pretrain-seconds must be in 0...3600, got \(pretrainSeconds)") }
            guard (0...100_000).contains(pretrainSteps) else { throw ElectraError("--pretrain-steps must be in 0...100000, got \(pretrainSteps)") }
            let discDir = try discriminator.map { try ModelArgument.folder($0, option: "--discriminator") }
                ?? ShippedModel.locate(ShippedModel.discriminator, option: "--discriminator", expected: ElectraForPreTraining.architecture)
            let genDir = try generator.map { try ModelArgument.folder($0, option: "--generator") }
                ?? ShippedModel.locate(ShippedModel.generator, option: "--generator", expected: ElectraForMaskedLM.architecture)
            let detector = try ReplacedTokenDetectionPipeline(folder: discDir)
            let filler = try FillMaskPipeline(folder: genDir)
            let tok = detector.tokenizer
            let held = try TextInput.lines(try sentences ?? ShippedModel.resource("examples/demo/heldout-sentences.txt", option: "--sentences").path).map(String.init)
            guard temperature.isFinite && temperature > 0 else { throw ElectraError("--temperature must be a positive number, got \(temperature)") }
            guard liveTemperature.isFinite && liveTemperature > 0 else { throw ElectraError("--live-temperature must be a positive number, got \(liveTemperature)") }
            var corrupter = try TextCorrupter(generator: filler.model, discriminator: detector.model, tokenizer: tok, seed: seed, temperature: temperature)

            say("""
            ELECTRA trains two models together. A small generator learns to fill in masked words; \
            a discriminator sees the generator's rewrites and learns, for every word, whether it is \
            the original or a replacement. The discriminator is the model you keep.
            Models: \(discDir.path) and \(genDir.path).
            """)
            say("\n1. The generator rewrites some words; the discriminator marks the ones it thinks were replaced.")
            say("   [word] = the generator's replacement (same as the original when it guessed right); * = marked by the discriminator (p > 0.5)\n")
            for s in held.prefix(4) {
                let c = try corrupter.corrupt([s])[0]
                say("   original:  \(s)")
                say("   rewritten: \(c.display(tok))")
                let marked = c.markedWords(tok)
                say("   marked:    \(marked.isEmpty ? "nothing" : marked)\n")
            }

            say("2. Detection over \(held.count) held-out sentences (not seen in pretraining), 15% of tokens rewritten at temperature \(temperature):")
            var stats = DetectionScore()
            for start in stride(from: 0, to: held.count, by: 32) {
                for c in try corrupter.corrupt(Array(held[start..<min(start + 32, held.count)])) { stats.add(c) }
            }
            say(String(format: "   %d tokens, %.1f%% replaced (a rewrite equal to the original does not count)", stats.tokens, 100 * stats.replacedShare))
            say(String(format: "   precision %.3f, recall %.3f at p > 0.5; AUC %.3f (the chance a replaced token scores above an original one; 0.5 is guessing)",
                       stats.precision, stats.recall, stats.auc))
            say(String(format: "   guessing at the same rate would give precision %.3f\n", stats.replacedShare))

            say("3. The generator fills in [MASK]. Its rewrites should be plausible but imperfect. This one has the discriminator's size: in a CPU budget a smaller one never got past word frequencies (docs/pretraining.md).")
            for text in ["the capital of france is [MASK] .", "she played the [MASK] in the school orchestra .",
                         "the river flows into the [MASK] sea .", "he was born in [MASK] and studied law ."] {
                let masks = try filler(text, topK: 5)
                let c = masks[0].map { String(format: "%@ %.2f", $0.tokenString, $0.score) }.joined(separator: ", ")
                say("   \(text)\n      -> \(c)")
            }

            guard pretrainSeconds > 0 && pretrainSteps > 0 else { return }
            say("\n4. Pretraining a tiny ELECTRA from scratch for \(pretrainSteps) steps (at most \(Int(pretrainSeconds)) s) on a bundled text slice (what `electra pretrain` does at full size):")
            let out = output.map { URL(fileURLWithPath: $0) }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("electra-demo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try livePretraining(tokenizerDir: discDir, sliceURL: try slice.map { URL(fileURLWithPath: $0) } ?? ShippedModel.resource("examples/demo/wiki-slice.txt", option: "--slice"), out: out)
        }
    }

    func livePretraining(tokenizerDir: URL, sliceURL: URL, out: URL) throws {
        let (tok, tokFiles) = try TokenizerFiles.load(tokenizerDir, hint: "")
        let fm = FileManager.default
        if fm.fileExists(atPath: out.path), !(try fm.contentsOfDirectory(atPath: out.path)).isEmpty {
            throw ElectraError("\(out.path) exists and is not empty; give --output a new folder")
        }
        let dataDir = out.appendingPathComponent("data")
        try fm.createFolder(at: dataDir)
        var prep = DataPreparation(tokenizer: tok)
        prep.maxSeqLength = 64
        let manifest = try prep.run(inputs: [sliceURL], into: dataDir)
        let data = try PretrainingData(folder: dataDir)
        let preset = try PretrainingPreset.named("tiny", vocabSize: tok.vocabSizeWithAddedTokens)
        let special = SpecialIds(cls: tok.clsTokenId, sep: tok.sepTokenId, mask: tok.maskTokenId, pad: tok.padTokenId, vocabSize: tok.vocabSizeWithAddedTokens)
        var recipe = preset.recipe
        // One fixed temperature for the whole run, so the AUC curve means one thing.
        recipe.temperature = liveTemperature
        recipe.startTemperature = nil
        let job = try recipe.makeTask(objective: .rtd, discriminator: preset.discriminator, data: data, special: special, seed: 7, extraFiles: tokFiles)
        guard let task = job as? ReplacedTokenDetectionTask else { return }
        task.collapseWatch.patience = .max
        task.plateauWatch.tokens = .max
        var o = TrainerOptions()
        o.learningRate = preset.learningRate; o.layerwiseDecay = 1; o.batchSize = 32; o.maxTime = pretrainSeconds
        // A fixed number of steps, not "what the time holds": the schedule's length, and with it
        // the numbers, would otherwise follow the machine's speed (AUC 0.58-0.86 over runs).
        o.maxSteps = pretrainSteps
        o.epochs = 1_000_000; o.saveSteps = 1_000_000; o.logSteps = 5; o.saveTotalLimit = 1
        let d = preset.discriminator
        say("   \(manifest.examples) examples of up to 64 tokens; a \(d.numHiddenLayers)-layer discriminator (hidden \(d.hiddenSize)) and a generator of its size "
            + "(the tiny preset's recipe); replacements sampled at temperature \(liveTemperature)")
        let s = try Trainer(task: task, options: o, output: out).run(resume: false)
        say("   The generator trained alone for the first \(task.warmups.generator) steps; then the discriminator started as a copy of its encoder.")
        let records = MetricsLog.read(out.appendingPathComponent("metrics.jsonl"))
        let log = records.filter { $0["kind"]?.stringValue == "train" }
        func first(_ k: String) -> Double { log.first { $0[k] != nil }?[k]?.doubleValue ?? .nan }
        func last(_ k: String) -> Double { log.last { $0[k] != nil }?[k]?.doubleValue ?? .nan }
        say(String(format: "   %d steps in %.0f s. The generator on [MASK]ed positions: loss %.2f -> %.2f nats (word frequencies alone give %.2f), "
                   + "top-1 %.3f -> %.3f (the most frequent word alone: %.3f).", s.steps, s.seconds,
                   first("generator_masked_loss"), last("generator_masked_loss"), task.baseline.entropy,
                   first("generator_masked_accuracy"), last("generator_masked_accuracy"), task.baseline.topShare))
        say(String(format: "   The discriminator on replaced tokens at temperature %g: AUC %.3f -> %.3f (0.5 is guessing), precision %.3f, recall %.3f at the end.",
                   Double(liveTemperature), first("discriminator_auc"), last("discriminator_auc"), last("precision"), last("recall")))
        say("   The curves: \(out.appendingPathComponent("training.svg").path) (open it in a browser); every logged step: \(out.appendingPathComponent("metrics.jsonl").path)")
        say("   The models it wrote: \(out.appendingPathComponent("discriminator").path) and \(out.appendingPathComponent("generator").path)")
    }

    func say(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

    static let liveTemperatureDefault: Float = 2
}

/// How the demo shows a corrupted sentence.
extension TextCorrupter.Corrupted {
    func display(_ tok: ElectraTokenizer) -> String {
        wordsJoined(rewritten.indices.map { i in
            let t = tok.idToToken(rewritten[i]) ?? "?"
            let shown = chosen.contains(i) ? (t.hasPrefix("##") ? "##[" + t.dropFirst(2) + "]" : "[" + t + "]") : t
            return probabilities[i] > 0.5 ? shown + "*" : shown
        })
    }

    func markedWords(_ tok: ElectraTokenizer) -> String {
        rewritten.indices.filter { probabilities[$0] > 0.5 }.map { i in
            let t = tok.idToToken(rewritten[i]) ?? "?"
            return String(format: "%@ (p %.2f, %@)", t, probabilities[i], isReplaced(i) ? "replaced" : "original")
        }.joined(separator: ", ")
    }
}

extension DetectionScore {
    /// Every token of a rewritten sentence, called replaced at p > 0.5.
    mutating func add(_ c: TextCorrupter.Corrupted) {
        for i in c.rewritten.indices {
            add(score: c.probabilities[i], predicted: c.probabilities[i] > 0.5, replaced: c.isReplaced(i))
        }
    }
}

/// WordPiece tokens as text: "##" pieces join the previous token.
func wordsJoined(_ tokens: [String]) -> String {
    var out = ""
    for t in tokens {
        if t.hasPrefix("##") { out += t.dropFirst(2) } else { out += (out.isEmpty ? "" : " ") + t }
    }
    return out
}
