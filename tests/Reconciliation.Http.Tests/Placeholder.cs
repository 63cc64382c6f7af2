namespace Reconciliation.Http.Tests;
