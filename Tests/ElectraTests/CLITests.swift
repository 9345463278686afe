import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// The `electra` executable end to end: outputs, exit codes, messages, no partial files.
struct CLITests {
    static var binary: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("electra")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "/nonexistent/electra")
    }

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// Runs the binary; `env` adds variables, `stdin` is fed to it (else it reads nothing).
    func run(_ args: [String], env: [String: String] = [:], stdin: Data? = nil) throws -> Result {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    let tmp: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("electra-cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    @Test func binaryIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "electra not found near \(Bundle.main.bundleURL.path)")
    }

    @Test func inferWritesHFOutputs() throws {
        let fx = Fixtures.models.appendingPathComponent("qa_relative_key_query")
        let out = tmp.appendingPathComponent("out.safetensors")
        let r = try run(["infer", "--model", fx.appendingPathComponent("model").path, "--input", fx.appendingPathComponent("inputs.safetensors").path,
                         "--output", out.path, "--output-hidden-states", "--output-attentions"])
        #expect(r.status == 0, "\(r.stderr)")
        let got = try SafeTensorsFile(url: out)
        let want = try SafeTensorsFile(url: fx.appendingPathComponent("expected.safetensors"))
        #expect(Set(got.names) == Set(want.names))
        for n in want.names { #expect(maxAbsDiff(try got.floatTensor(n), try want.floatTensor(n)) <= 1e-4, "\(n)") }
    }

    @Test func infoDescribesTheModel() throws {
        let r = try run(["info", "--model", Fixtures.models.appendingPathComponent("maskedlm_gelu_new_e16_h32/model").path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("ElectraForMaskedLM"))
        #expect(r.stdout.contains("masked-lm (generator)"))
        #expect(r.stdout.contains("F32"))
        // The machine line names the int8 kernel and the route a bf16 request takes, and why.
        #expect(r.stdout.contains("int8: \(Int8Kernel.current.rawValue)") && r.stdout.contains("bf16: \(BF16Kernel.summary)"), "\(r.stdout)")
    }

    /// Without --model, info describes only the machine: the same line, nothing about a model.
    @Test func infoWithoutAModelDescribesTheMachine() throws {
        let r = try run(["info"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("this machine:") && r.stdout.contains("bf16: \(BF16Kernel.summary)"), "\(r.stdout)")
        #expect(!r.stdout.contains("model:"), "\(r.stdout)")
    }

    /// A mistyped kernel setting is refused before anything runs, not ignored.
    @Test func unknownKernelSettingIsRefused() throws {
        let r = try run(["info", "--model", Fixtures.models.appendingPathComponent("maskedlm_gelu_new_e16_h32/model").path],
                        env: ["ELECTRA_BF16": "portabel"])
        #expect(r.status != 0 && r.stderr.contains("error: ELECTRA_BF16 is 'portabel'"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func errorsExitNonZeroWithAMessageAndNoOutput() throws {
        let fx = Fixtures.models.appendingPathComponent("base_gelu_e16_h32")
        let model = fx.appendingPathComponent("model").path
        let out = tmp.appendingPathComponent("never.safetensors")
        let badIds = tmp.appendingPathComponent("bad.safetensors")
        try SafeTensorsWriter.write([("input_ids", .int64(IntTensor(shape: [1, 3], values: [1, 2, 500])))], to: badIds)
        let typo = tmp.appendingPathComponent("typo.safetensors")
        try SafeTensorsWriter.write([("input_ids", .int64(IntTensor(shape: [1, 2], values: [1, 2]))),
                                     ("attention_masks", .int64(IntTensor(shape: [1, 2], values: [1, 1])))], to: typo)
        let cases: [([String], String)] = [
            (["infer", "--model", model, "--task", "summarize", "--input", badIds.path, "--output", out.path], "unknown task 'summarize'"),
            (["infer", "--model", model, "--input", badIds.path, "--output", out.path], "input_ids[0][2] = 500"),
            (["infer", "--model", model, "--input", typo.path, "--output", out.path], "unknown input tensor 'attention_masks'"),
            (["infer", "--model", tmp.path, "--input", badIds.path, "--output", out.path], "missing config.json"),
            (["infer", "--model", model, "--input", tmp.appendingPathComponent("none").path, "--output", out.path], "does not exist"),
            (["info", "--model", "/nonexistent/model"], "does not exist"),
            (["bench", "--weight-layout", "packed"], "unknown --weight-layout 'packed'"),
        ]
        for (args, message) in cases {
            let r = try run(args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Backtrace"))
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// An output file that is an input (by any path) or a file of the model is refused before
    /// anything runs, and stays as it was.
    @Test func outputOverAnInputIsRefused() throws {
        let folder = tmp.appendingPathComponent("model-copy")
        try FileManager.default.copyItem(at: Fixtures.models.appendingPathComponent("base_gelu_e16_h32/model"), to: folder)
        let weights = folder.appendingPathComponent("model.safetensors")
        let before = try Data(contentsOf: weights)
        let ids = tmp.appendingPathComponent("ids.safetensors")
        try SafeTensorsWriter.write([("input_ids", .int64(IntTensor(shape: [1, 3], values: [1, 2, 3])))], to: ids)
        let idsBytes = try Data(contentsOf: ids)
        let link = tmp.appendingPathComponent("ids-link.safetensors")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: ids)
        for (args, message) in [
            (["infer", "--model", folder.path, "--input", ids.path, "--output", weights.path], "is the --model input"),
            (["infer", "--model", folder.path, "--input", ids.path, "--output", link.path], "is the --input input"),
        ] {
            let r = try run(args)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        #expect(try Data(contentsOf: weights) == before && Data(contentsOf: ids) == idsBytes)
        // The same model and input to a new file still run.
        let fine = try run(["infer", "--model", folder.path, "--input", ids.path, "--output", tmp.appendingPathComponent("out.safetensors").path])
        #expect(fine.status == 0, "\(fine.stderr)")
    }

    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../examples/tiny-electra").standardized

    @Test func finetuneEvaluatePredictEndToEnd() throws {
        let train = tmp.appendingPathComponent("train.tsv"), dev = tmp.appendingPathComponent("dev.tsv")
        try "sentence\tlabel\na fine film\tpos\na dull mess\tneg\nlovely\tpos\nawful\tneg\n".write(to: train, atomically: true, encoding: .utf8)
        try "sentence\tlabel\ngood\tpos\nbad\tneg\n".write(to: dev, atomically: true, encoding: .utf8)
        let out = tmp.appendingPathComponent("run")
        let args = ["finetune", "--model", Self.example.path, "--train", train.path, "--validation", dev.path,
                    "--output", out.path, "--batch-size", "2", "--epochs", "2", "--threads", "1"]
        let r = try run(args)
        #expect(r.status == 0, "\(r.stderr)")
        let config = try ElectraConfig.load(from: out.appendingPathComponent("config.json"))
        #expect(config.id2label == [0: "neg", 1: "pos"] && config.architectures == ["ElectraForSequenceClassification"])
        for f in ["model.safetensors", "vocab.txt", "metrics.jsonl", "training.svg", "checkpoint-4/optimizer.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), "\(f)")
        }
        let again = try run(args)
        #expect(again.status != 0 && again.stderr.contains("exists; pass --overwrite-output"))
        let resumed = try run(args + ["--resume"])
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming from checkpoint-4"), "\(resumed.stderr)")
        let ev = try run(["evaluate", "--model", out.path, "--data", dev.path])
        #expect(ev.status == 0 && ev.stdout.contains("\"accuracy\""), "\(ev.stderr)")
        let pr = try run(["predict", "--model", out.path, "a fine film"])
        #expect(pr.status == 0 && (pr.stdout.hasPrefix("pos\t") || pr.stdout.hasPrefix("neg\t")), "\(pr.stdout)")

        let unknown = tmp.appendingPathComponent("unknown.tsv")
        try "sentence\tlabel\nfine\tmaybe\n".write(to: unknown, atomically: true, encoding: .utf8)
        let bad = try run(["finetune", "--model", Self.example.path, "--train", train.path, "--validation", unknown.path,
                           "--output", tmp.appendingPathComponent("bad").path])
        #expect(bad.status != 0 && bad.stderr.contains("unknown.tsv:2: unknown label 'maybe'"), "\(bad.stderr)")
        let mismatch = try run(["finetune", "--model", Self.example.path, "--train", train.path, "--num-labels", "3",
                                "--output", tmp.appendingPathComponent("bad2").path])
        #expect(mismatch.status != 0 && mismatch.stderr.contains("--num-labels 3 but train.tsv has 2"))
        let empty = tmp.appendingPathComponent("empty.tsv")
        try "".write(to: empty, atomically: true, encoding: .utf8)
        let e = try run(["finetune", "--model", Self.example.path, "--train", empty.path, "--output", tmp.appendingPathComponent("bad3").path])
        #expect(e.status != 0 && e.stderr.contains("empty"))
    }
}
