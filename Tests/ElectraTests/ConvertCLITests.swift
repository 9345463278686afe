import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// `electra convert` and `--model` on every checkpoint format, end to end.
struct ConvertCLITests {
    let cli = CLITests()
    static let formats = Fixtures.root.appendingPathComponent("checkpoints/formats")

    func sameTensors(_ a: URL, _ b: URL) throws -> Bool {
        let x = try SafeTensorsFile(url: a), y = try SafeTensorsFile(url: b)
        guard x.names == y.names else { return false }
        return try x.names.allSatisfy { try x.floatTensor($0).scalars == y.floatTensor($0).scalars }
    }

    @Test(arguments: ["pytorch", "pytorch_sharded", "flax", "tf2"])
    func convertsEveryFormatToTheSafetensorsOriginal(_ format: String) throws {
        let out = cli.tmp.appendingPathComponent(format)
        let r = try cli.run(["convert", "--input", Self.formats.appendingPathComponent("disc/\(format)").path, "--output", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("converted"))
        #expect(try sameTensors(out.appendingPathComponent("model.safetensors"), Self.formats.appendingPathComponent("disc/safetensors/model.safetensors")))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("config.json").path))
    }

    @Test func generatorConversionLeavesTheTiedHeadOut() throws {
        let out = cli.tmp.appendingPathComponent("gen")
        let r = try cli.run(["convert", "--input", Self.formats.appendingPathComponent("gen/pytorch/pytorch_model.bin").path, "--output", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("generator_lm_head.weight (tied"))
        #expect(try sameTensors(out.appendingPathComponent("model.safetensors"), Self.formats.appendingPathComponent("gen/safetensors/model.safetensors")))
    }

    @Test func exportsATF1Tower() throws {
        let tf1 = Self.formats.appendingPathComponent("tf1")
        let out = cli.tmp.appendingPathComponent("tf1-gen")
        let r = try cli.run(["convert", "--tf-checkpoint", tf1.appendingPathComponent("model.ckpt-7").path,
                             "--config", tf1.appendingPathComponent("gen_config.json").path, "--model-type", "generator", "--output", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Adam slots"))
        #expect(try sameTensors(out.appendingPathComponent("model.safetensors"), tf1.appendingPathComponent("hf_generator.safetensors")))
        let info = try cli.run(["info", "--model", out.path])
        #expect(info.stdout.contains("ElectraForMaskedLM"))
    }

    /// Google's releases keep vocab.txt next to model.ckpt-N: both TF1 routes carry it over.
    @Test func tf1RoutesCopyTheVocabularyNextToTheCheckpoint() throws {
        let tf1 = Self.formats.appendingPathComponent("tf1")
        let release = cli.tmp.appendingPathComponent("google-release")
        try FileManager.default.createDirectory(at: release, withIntermediateDirectories: true)
        for f in ["checkpoint", "model.ckpt-7.index", "model.ckpt-7.data-00000-of-00001"] {
            try FileManager.default.copyItem(at: tf1.appendingPathComponent(f), to: release.appendingPathComponent(f))
        }
        let vocab = Data("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n".utf8)
        try vocab.write(to: release.appendingPathComponent("vocab.txt"))
        let routes: [(String, [String])] = [
            ("tf1-vocab-prefix", ["--tf-checkpoint", release.appendingPathComponent("model.ckpt-7").path,
                                  "--config", tf1.appendingPathComponent("gen_config.json").path, "--model-type", "generator"]),
            ("tf1-vocab-input", ["--input", release.path, "--config", tf1.appendingPathComponent("disc_config.json").path]),
        ]
        for (name, args) in routes {
            let out = cli.tmp.appendingPathComponent(name)
            let r = try cli.run(["convert"] + args + ["--output", out.path])
            #expect(r.status == 0, "\(name): \(r.stderr)")
            #expect(try Data(contentsOf: out.appendingPathComponent("vocab.txt")) == vocab, "\(name)")
        }
    }

    @Test func inputMayBeATF1CheckpointWithItsConfig() throws {
        let tf1 = Self.formats.appendingPathComponent("tf1")
        let out = cli.tmp.appendingPathComponent("tf1-disc")
        let r = try cli.run(["convert", "--input", tf1.path, "--config", tf1.appendingPathComponent("disc_config.json").path, "--output", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try sameTensors(out.appendingPathComponent("model.safetensors"), tf1.appendingPathComponent("hf_discriminator.safetensors")))
        let missing = try cli.run(["convert", "--input", tf1.path, "--config", tf1.appendingPathComponent("nope.json").path, "--output", out.path])
        #expect(missing.status != 0 && missing.stderr.contains("nope.json does not exist"), "\(missing.stderr)")
    }

    @Test(arguments: ["flax", "tf2", "pytorch"])
    func inferReadsEveryFormatDirectly(_ format: String) throws {
        let out = cli.tmp.appendingPathComponent("logits-\(format).safetensors")
        let r = try cli.run(["infer", "--model", Self.formats.appendingPathComponent("gen/\(format)").path,
                             "--input", Self.formats.appendingPathComponent("gen/inputs.safetensors").path, "--output", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let got = try SafeTensorsFile(url: out).floatTensor("logits")
        let want = try SafeTensorsFile(url: Self.formats.appendingPathComponent("gen/expected.safetensors")).floatTensor("logits")
        #expect(maxAbsDiff(got, want) <= 1e-5)
    }

    @Test func badUsageIsAClearError() throws {
        let tf1 = Self.formats.appendingPathComponent("tf1/model.ckpt-7").path
        let cfg = Self.formats.appendingPathComponent("tf1/disc_config.json").path
        let cases: [([String], String)] = [
            (["convert", "--output", cli.tmp.path], "pass --input"),
            (["convert", "--tf-checkpoint", tf1, "--output", cli.tmp.path], "needs --config"),
            (["convert", "--tf-checkpoint", tf1, "--config", cfg, "--output", cli.tmp.path], "needs --model-type"),
            (["convert", "--tf-checkpoint", tf1, "--config", cfg, "--model-type", "both", "--output", cli.tmp.path], "'both'"),
            (["convert", "--tf-checkpoint", tf1 + "-missing", "--config", cfg, "--model-type", "generator", "--output", cli.tmp.path], "model.ckpt-7-missing"),
            (["convert", "--input", cli.tmp.appendingPathComponent("nothing").path, "--output", cli.tmp.path], "no such file"),
        ]
        for (args, message) in cases {
            let r = try cli.run(args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.contains("error:") && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }

    /// The library's conversion into the input's own folder (by another spelling, too) would
    /// replace the weights read: refused, the folder unchanged.
    @Test func libraryConversionRefusesTheInputsFolder() throws {
        let copy = cli.tmp.appendingPathComponent("in-place")
        try FileManager.default.copyItem(at: Self.formats.appendingPathComponent("disc/pytorch"), to: copy)
        let before = try FileManager.default.contentsOfDirectory(atPath: copy.path).sorted()
        let message = "the output folder \(copy.path)/. is the input's folder; convert into another folder"
        #expect(errorMessage { _ = try CheckpointConversion.convert(input: copy.appendingPathComponent("pytorch_model.bin"), to: copy.appendingPathComponent(".")) } == message)
        #expect(try FileManager.default.contentsOfDirectory(atPath: copy.path).sorted() == before)
        let tf1 = Self.formats.appendingPathComponent("tf1")
        let config = try ElectraConfig.load(from: tf1.appendingPathComponent("disc_config.json"))
        #expect(errorMessage { _ = try CheckpointConversion.convertTF1(checkpoint: tf1.appendingPathComponent("model.ckpt-7"), config: config, tower: .discriminator, to: tf1) }
                .contains("is the input's folder"))
    }
}
