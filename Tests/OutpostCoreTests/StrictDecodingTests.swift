import Foundation
import OutpostCore
import OutpostTestSupport
import Testing

/// `WireJSON.decodeRequest`: the strict reading of request bodies, and the parser under it.
@Suite("Strict request decoding")
struct StrictDecodingTests {
    private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws(WireDecodingError) -> T {
        try WireJSON.decodeRequest(type, from: Array(json.utf8))
    }

    private func failure<T: Decodable>(_ type: T.Type, _ json: String) -> WireDecodingError? {
        do {
            _ = try decode(type, json)
            return nil
        } catch {
            return error
        }
    }

    @Test("a valid body decodes as JSONDecoder would")
    func valid() throws {
        let json = #"""
            {"name":"db","integration":"postgres","tags":["b","a"],"env":{"X":"1"},
             "secrets":[{"provider":"aws","path":"prod/db","mapping":{"PGPASSWORD":"password"}}],
             "timeout_seconds":30,"created_at":"2026-01-31T12:00:00.250Z"}
            """#
        let strict = try decode(Target.self, json)
        let lenient = try WireJSON.decoder().decode(Target.self, from: Data(json.utf8))
        #expect(strict == lenient)
        #expect(strict.tags == TagSet(["a", "b"]))
        #expect(strict.secrets.first?.mapping == ["PGPASSWORD": "password"])
    }

    @Test(
        "each kind of bad body is refused with its kind and the field",
        arguments: [
            (#"{"target":"t","script":"s","timout":1}"#, WireDecodingError.Kind.unknownField, "timout"),
            (#"{"target":"t","script":"s","script":"t"}"#, .duplicateKey, "script"),
            (#"{"target":"t","script":"s","timeout_seconds":"1"}"#, .typeMismatch, "timeout_seconds"),
            (#"{"target":"t","script":"s","timeout_seconds":1.0}"#, .outOfRange, "timeout_seconds"),
            (#"{"target":"t","script":"s","timeout_seconds":1e2}"#, .outOfRange, "timeout_seconds"),
            (#"{"target":"t","script":"s","timeout_seconds":9223372036854775808}"#, .outOfRange, "timeout_seconds"),
            (#"{"target":"t"}"#, .missingField, "script"),
            (#"{"target":null,"script":"s"}"#, .typeMismatch, "target"),
            (#"{"target":"t","script":"s"} x"#, .malformed, ""),
            (#"{"target":"t","script":"s\u0001"#, .malformed, ""),
            ("{\"target\":\"t\",\"script\":\"\u{1}\"}", .malformed, ""),
            (#"{"target":"t","script":"\ud800"}"#, .malformed, ""),
            ("", .malformed, ""),
            ("[]", .typeMismatch, ""),
        ] as [(String, WireDecodingError.Kind, String)])
    func refused(json: String, kind: WireDecodingError.Kind, field: String) {
        let error = failure(CreateTaskRequest.self, json)
        #expect(error?.kind == kind, "\(String(describing: error))")
        #expect(error?.field == field)
    }

    @Test("nested unknown fields and duplicate keys are named by their path")
    func nestedPaths() {
        let unknown = failure(Target.self, #"{"name":"n","integration":"i","secrets":[{"provider":"p","path":"x","pth":"y"}]}"#)
        #expect(unknown?.message == #"unknown field "secrets[0].pth""#)
        let duplicate = failure(Target.self, #"{"name":"n","integration":"i","secrets":[{"provider":"p","path":"x","path":"y"}]}"#)
        #expect(duplicate?.message == #"duplicate key "secrets[0].path" in the request body"#)
        // Map keys are data, not fields: any name is fine.
        #expect((try? decode(Target.self, #"{"name":"n","integration":"i","env":{"ANY_NAME":"v"}}"#)) != nil)
    }

    @Test("messages say what type was expected and what came, never the value")
    func messages() {
        #expect(
            failure(CreateTaskRequest.self, #"{"target":"t","script":"s","timeout_seconds":"sekret-value"}"#)?.message
                == #"field "timeout_seconds" must be an integer, got a string"#)
        let range = failure(FinishRequest.self, #"{"status":"failed","log_bytes":0,"exit_code":4294967296}"#)
        #expect(range?.message == #"field "exit_code" must be an integer (-2147483648 to 2147483647), got a number out of range"#)
        let status = failure(FinishRequest.self, #"{"status":"sekret-value","log_bytes":0}"#)
        #expect(status?.kind == .invalidValue)
        #expect(status?.field == "status")
    }

    @Test("nesting is bounded, so a hostile body cannot exhaust the stack")
    func depth() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(failure(CreateTaskRequest.self, deep)?.kind == .malformed)
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect((try? JSONParser.parse(Array(fine.utf8))) != nil)
    }

    @Test("escapes and surrogate pairs decode to the right text")
    func escapes() throws {
        let value = try JSONParser.parse(Array(#"{"k":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}"#.utf8))
        #expect(value == .object([(key: "k", value: .string("a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}"))]))
    }

    @Test("random and mutated bytes never trap the parser or the decoder")
    func randomBytes() {
        var generator = SeededRandom(seed: 11)
        let seeds = [
            #"{"status":"succeeded","log_bytes":12,"exit_code":0,"error":null}"#,
            #"{"name":"n","integration":"i","tags":["a"],"env":{"A":"b"},"secrets":[{"provider":"p","path":"x"}]}"#,
        ].map { Array($0.utf8) }
        for round in 0..<20_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let position = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes.remove(at: position)
                default: bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: position)
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            _ = try? WireJSON.decodeRequest(FinishRequest.self, from: bytes)
            _ = try? WireJSON.decodeRequest(Target.self, from: bytes)
        }
    }

    @Test(
        "answers from the hub with numbers the agent cannot turn into durations are refused",
        arguments: [
            #"{"agent_id":"a","name":"n","agent_token":"t","poll_timeout_seconds":1e300,"heartbeat_timeout_seconds":60}"#,
            #"{"agent_id":"a","name":"n","agent_token":"t","poll_timeout_seconds":25,"heartbeat_timeout_seconds":-1}"#,
        ])
    func hubAnswers(json: String) {
        #expect(throws: DecodingError.self) { try WireJSON.decoder().decode(RegisterResponse.self, from: Data(json.utf8)) }
    }

    @Test("an assignment with a timeout past a week is refused; a sane one decodes")
    func assignmentTimeout() throws {
        let target = #"{"name":"t","integration":"bash"}"#
        let bad = #"{"task_id":"x","target":"# + target + #","script":"s","timeout_seconds":9223372036854775807}"#
        #expect(throws: DecodingError.self) { try WireJSON.decoder().decode(TaskAssignment.self, from: Data(bad.utf8)) }
        let good = #"{"task_id":"x","target":"# + target + #","script":"s","timeout_seconds":604800}"#
        #expect(try WireJSON.decoder().decode(TaskAssignment.self, from: Data(good.utf8)).timeoutSeconds == 604_800)
    }
}
