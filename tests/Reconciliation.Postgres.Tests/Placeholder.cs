namespace Reconciliation.Postgres.Tests;
