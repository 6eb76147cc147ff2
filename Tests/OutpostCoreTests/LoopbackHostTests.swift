import OutpostCore
import Testing

@Suite struct LoopbackHostTests {
    @Test(arguments: [
        ("localhost", true), ("LOCALHOST.", true), ("127.0.0.1", true), ("127.255.3.4", true), ("::1", true),
        ("[::1]", true), ("::ffff:127.0.0.1", true), ("0:0:0:0:0:0:0:1", true),
        ("10.255.255.1", false), ("128.0.0.1", false), ("::2", false), ("localhost.example", false),
        ("hub.internal", false), ("", false), ("0.0.0.0", false),
    ])
    func loopbackIsLocalhostAnd127Slash8AndColonColon1(host: String, loopback: Bool) {
        #expect(LoopbackHost.contains(host) == loopback)
    }
}
