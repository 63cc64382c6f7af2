global using Microsoft.Extensions.DependencyInjection;
global using Reconciliation.Rules;
global using Xunit;
