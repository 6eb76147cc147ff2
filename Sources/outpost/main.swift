import OutpostCLI

await OutpostCLI.main()
