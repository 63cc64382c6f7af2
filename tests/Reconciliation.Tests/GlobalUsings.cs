global using Microsoft.Extensions.DependencyInjection;
global using Reconciliation;
global using Xunit;
