using Reconciliation.Tool;

// reconcile watch | gate: see ToolProgram and docs/tool.md.
return await ToolProgram.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
