namespace Reconciliation.Redis.Tests;
